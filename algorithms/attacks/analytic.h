// Analytic input recovery from a fully connected layer with bias (Phong et
// al. 2017; Geiping et al. 2020, Prop. 1; shared/PRIVACY.md §2.4).
//
// For y = W x + b: dL/dW[i,:] = (dL/dy_i) x^T and dL/db_i = dL/dy_i, so
// x = dL/dW[i,:] / dL/db_i for any row with |dL/db_i| > tau. The ratio is
// scale-free, so it can be taken directly on a weight update -lr * g. Exact
// for one example; for a batch each row gives a dL/dy-weighted mixture, and
// the k rows with the largest |dL/db| are returned as k candidates.
#pragma once

#include <span>
#include <vector>

#include "core/param.h"
#include "core/status.h"

namespace shoal::attacks {

// Recovers `count` candidate inputs (count x in) of the FIRST layer, which
// must be a Linear layer (tensors 0 and 1 = "<l>.weight" [out, in] and
// "<l>.bias"); `update` is the gradient or weight update. Rows with
// |db_i| <= tau are skipped; fewer candidates than asked give an error.
Result<std::vector<double>> AnalyticFcRecovery(const ParamLayout& layout, std::span<const double> update, int count,
                                               double tau = 1e-12);

}  // namespace shoal::attacks
