// One attack on one observed update, scored against the client's data.
//
// RunAttack takes the update exactly as the server decoded it from the
// client's real client.pipeline (clip, local noise, sketch, top-k, ... ran on
// the client; the simulator decoded the bytes), derives the linear view of a
// gradient that this decoded update gives (ObservationFromPipeline), turns it
// into the attacker's target (-update / (local lr * steps), as the server
// knows the clients' learning rate), recovers labels, runs the attack, and only then
// reads the client's true images to score the reconstruction: PSNR/SSIM after
// MSE-optimal matching, label accuracy (as multisets), fraction above the
// PSNR threshold. The number of images reconstructed is the update's
// num_samples (the whole local data set, as in SME's threat model).
// Pure and single-threaded: callers parallelise over observations, one
// GradientOracle per thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "algorithms/attacks/gradient_oracle.h"
#include "algorithms/attacks/probe.h"
#include "algorithms/transforms/transform.h"
#include "core/data.h"

namespace shoal::attacks {

struct AttackEnv {
  GradientOracle* oracle = nullptr;           // must outlive the call
  const Dataset* data = nullptr;              // scoring only
  std::span<const int64_t> client_indices;    // scoring only: the images this client holds
  ImageShape shape;
  double local_lr = 0.05;                     // the clients' learning rate (known to the server)
  uint64_t seed = 0;                          // run seed (the pipeline's shared randomness)
  const UpdatePipeline* pipeline = nullptr;   // the clients' client.pipeline; null = dense
  const Backend* backend = nullptr;           // for the pipeline's TransformContext
  const ParamLayout* layout = nullptr;        // the float model's layout, for the same
  std::vector<double> input_mean, input_std;  // per-channel data-set statistics (IG / SME normalisation)
};

struct AttackRecord {
  std::string attack;
  int64_t round = 0;
  int client = -1;
  int images = 0;
  bool has_images = false;                 // false for label-only attacks (iDLG)
  double psnr = 0, ssim = 0, label_acc = 0, frac_above = 0;
  double match = 0;                        // final matching loss (optimisation attacks)
  double lambda = 0;                       // SME's learned lambda
  int64_t local_steps = 0;
  double update_norm = 0;                  // L2 norm of the decoded update
  std::string observation = "identity";    // identity | mask | linear (see ObservationFromPipeline)
  std::vector<double> image_psnr;
  std::vector<int32_t> labels_true, labels_guess;
  std::vector<float> recon;                // images x shape.size()
  std::vector<float> truth;                // the matched true image of each reconstruction
};

Result<AttackRecord> RunAttack(const AttackSpec& spec, const Observation& obs, AttackEnv& env);

// The view of a gradient g that `decoded` (the server's decoding of one
// client's upload through `pipeline`, codec context `ctx`) gives, found by
// probing the pipeline's codec with the server's own context (round, shared
// seed): if encode->decode is the identity, the identity; if it is affine,
// v -> P v + c, with P symmetric (a random sketch's R^T R: the server must
// know R to decode; c is the sketch-space noise, which cancels in P(v) - P(0)),
// the map P; otherwise, if most decoded coordinates are zero (top-k, rand-k),
// the support mask; otherwise (stochastic quantisers, ...) the identity.
// Clip and local noise act before the codec and are not part of the map.
ObservationMap ObservationFromPipeline(const UpdatePipeline* pipeline, const TransformContext& ctx,
                                       std::span<const float> decoded);

}  // namespace shoal::attacks
