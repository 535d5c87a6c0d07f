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
// Yin et al. 2021 (GradInversion, arXiv 2104.07586): the B classes whose
// classifier weight-gradient rows have the most negative minimum (no repeated
// labels; the rule of JonasGeiping/breaching `label_strategy: yin`).
// Wainakh et al. 2022 (LLG, arXiv 2105.09369, "simple" variant): row sums
// g_j = sum_k dW[j, k]; impact m = (sum_{g_j < 0} g_j)(1 + 1/C)/B; stage 1
// takes every class with g_j < 0 once (g_j -= m), stage 2 repeatedly takes
// argmin_j g_j and subtracts m from it until B labels. (breaching's
// `wainakh-simple` subtracts m from the stale loop index in stage 2, a typo;
// here it is the selected class, as in the paper's Algorithm 1.)
// LLG+ (the paper's white-box variant, breaching `wainakh-whitebox`): with
// A = sum_k a_k the classifier input's sum, g_j ~ A (pbar_j - n_j / B); the
// offset s_j = A pbar_j and the impact m = -A / B are measured on dummy
// batches through the model: s_j = mean over c != j of the row sum g_j of a
// dummy batch all labelled c, m = mean_c (g_c - s_c) / B for the batch
// labelled c. Then B times: j = argmin (g - s), g_j -= m. (breaching sums all
// row sums for m, which is 0 for softmax CE; here the labelled class's row.)
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

// Yin et al.: B distinct labels (sorted); for B > classes the ranking repeats.
Result<std::vector<int32_t>> RecoverLabelsYin(const ParamLayout& layout, std::span<const double> grad, int batch);

// LLG (Wainakh et al., simple): label multiset of B examples (sorted).
Result<std::vector<int32_t>> RecoverLabelsLlg(const ParamLayout& layout, std::span<const double> grad, int batch);

// LLG+: `dummy_row_sums[c]` are the classifier row sums (num_classes values)
// of the mean gradient of a dummy batch all labelled c (c = 0..C-1).
Result<std::vector<int32_t>> RecoverLabelsLlgPlus(const ParamLayout& layout, std::span<const double> grad, int batch,
                                                  const std::vector<std::vector<double>>& dummy_row_sums);

// Classifier row sums sum_k dW[j, k] of a parameter gradient.
Result<std::vector<double>> ClassifierRowSums(const ParamLayout& layout, std::span<const double> grad);

// Fraction of `truth` matched by `guess` as multisets (order-free label accuracy).
double LabelMultisetAccuracy(std::vector<int32_t> guess, std::vector<int32_t> truth);

}  // namespace shoal::attacks
