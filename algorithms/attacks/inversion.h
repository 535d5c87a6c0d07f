// Gradient-matching reconstruction (shared/PRIVACY.md §2.1, §2.3, §2.5).
//
// All three optimisation attacks minimise m(R G(x; theta)) (+ TV) over dummy
// inputs x with the labels fixed (recovered first, as in iDLG), where G is the
// parameter gradient, R the server's ObservationMap and m an L2 or cosine
// match against the observed target (see matching.h). d/dx comes exactly from
// GradientOracle::MixedVjp.
//  - DLG (Zhu et al. 2019): L2 cost, L-BFGS on x (two-loop recursion with an
//    Armijo backtracking line search), unboxed; images clamped to [0, 1] for
//    scoring only. The original also optimises soft labels; Shoal fixes the
//    recovered labels (the iDLG variant).
//  - Inverting Gradients (Geiping et al. 2020): cosine + alpha_TV TV(z), Adam
//    on z, optional signed gradients, box, MultiStep decay x0.1 at 3/8, 5/8,
//    7/8, z0 ~ N(0, 1), R restarts, keep the lowest final match.
//    Both reference codes optimise the *normalised* input z = (x - m) / s
//    (per-channel data-set mean m and std s; box [-m/s, (1-m)/s], TV on z),
//    so their lr / TV weights / N(0, 1) init only mean the same thing in that
//    parametrisation: InvertAdam does the same (input_mean / input_std; empty
//    = pixel space, m = 0, s = 1).
//  - SME (Zhu, Yao, Blaschko, ICML 2023): as IG but the gradient is taken at
//    the surrogate w_lambda = (1 - lambda) w0 + lambda wT, with lambda learned
//    by Adam (clamped to [0, 1]); d/dlambda = <H_w u, wT - w0>, from the same
//    forward-over-reverse pass. lambda fixed at 0 is IG on the weight update.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "algorithms/attacks/gradient_oracle.h"
#include "algorithms/attacks/image_metrics.h"
#include "algorithms/attacks/matching.h"
#include "core/rng.h"

namespace shoal::attacks {

struct InversionProblem {
  GradientOracle* oracle = nullptr;     // must outlive the call
  std::span<const double> theta0;       // the global model the client started from
  std::span<const double> target;       // observed gradient direction, in observation space
  const ObservationMap* obs = nullptr;  // how the server observes gradients; must outlive the call
  std::span<const double> w_end;        // SME: the client's final model w_T (dense estimate)
  std::vector<int32_t> labels;          // one per image to reconstruct
  ImageShape shape;
  std::vector<double> input_mean;       // per channel (InvertAdam's z = (x - m) / s); empty = 0
  std::vector<double> input_std;        // per channel, > 0; empty = 1
};

struct InversionOptions {
  MatchCost cost = MatchCost::kCosine;
  int iterations = 4800;      // >= 1
  double lr = 0.1;            // Adam step on z (> 0); L-BFGS: unused
  double tv = 1e-4;           // total-variation weight (>= 0), on z for InvertAdam
  bool signed_grad = false;   // replace the x-gradient by its sign (IG's "signed")
  bool boxed = true;          // clamp x to [0, 1] (z to [-m/s, (1-m)/s]) after every step
  bool lr_decay = true;       // MultiStep x0.1 at 3/8, 5/8, 7/8
  int restarts = 1;           // >= 1
  bool surrogate = false;     // SME: learn lambda
  double lambda_init = 0.5;   // in [0, 1]
  double lambda_lr = 0.001;   // Adam step on lambda (> 0)
  int history = 10;           // L-BFGS memory
};

struct InversionResult {
  std::vector<double> x;               // labels.size() x input_dim
  double match = 0;                    // final matching loss of the kept restart
  std::vector<double> restart_matches;
  double lambda = 0;                   // SME's final lambda (0 otherwise)
  int evaluations = 0;                 // objective evaluations of the kept restart
};

// IG and SME (Adam on z = (x - m) / s). `rng` draws the initial images.
InversionResult InvertAdam(const InversionProblem& p, const InversionOptions& o, RngStream rng);
// DLG (L-BFGS, cost as in o.cost, normally L2).
InversionResult InvertLbfgs(const InversionProblem& p, const InversionOptions& o, RngStream rng);

// One evaluation: returns m(R G(x; theta)) + tv * TV(x); dx = d/dx; when hu is
// non-empty also hu = H_theta u (for SME). `match` gets m alone.
double MatchingObjective(const InversionProblem& p, std::span<const double> theta, std::span<const double> x,
                         MatchCost cost, double tv, std::span<double> dx, std::span<double> hu, double* match);

}  // namespace shoal::attacks
