// Label recovery from the last layer's gradient.
//
// iDLG (Zhao, Mopuri, Bilen 2020, arXiv 2001.02610): for one example with
// softmax cross-entropy, row j of the last fully connected layer's weight
// gradient is (p_j - y_j) a^T with a >= 0 (post-ReLU), so only the true row is
// non-positive: c = argmin_j sum_k dW[j, k] (the rule of
// JonasGeiping/invertinggradients).
// Batch extension (Geng et al. 2021, arXiv 2110.09074, "bias-corrected"):
// with mean-reduced CE the last bias gradient is db_j = (1/B) sum_i (p_ij -
// y_ij), so the count of label j is n_j ~ B (pbar_j - db_j), where pbar is the
// model's mean softmax on dummy inputs. Counts are rounded by largest
// remainder so that they sum to B.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/param.h"
#include "core/status.h"

namespace shoal::attacks {

// Index of the last 2-D ".weight" tensor in `layout` (the classifier), or an
// error naming the layout when there is none.
Result<int> LastLinearWeight(const ParamLayout& layout);

// iDLG: the label of a single example from its parameter gradient `grad`.
Result<int32_t> RecoverLabelIdlg(const ParamLayout& layout, std::span<const double> grad);

// Label multiset of a batch of B examples (sorted ascending), from the mean
// gradient `grad` and the estimated mean softmax `pbar` (num_classes values).
Result<std::vector<int32_t>> RecoverLabelCounts(const ParamLayout& layout, std::span<const double> grad, int batch,
                                                std::span<const double> pbar);

// Fraction of `truth` matched by `guess` as multisets (order-free label accuracy).
double LabelMultisetAccuracy(std::vector<int32_t> guess, std::vector<int32_t> truth);

}  // namespace shoal::attacks
