// One attack on one observed update, scored against the client's data.
//
// RunAttack emulates the configured client-side defence on the observed
// update (clip -> Gaussian noise z C -> top-k -> count sketch; the sketch
// seed is known to the server, as in Song et al. 2023's threat model), turns
// it into the attacker's target (-update / local lr, as the server knows the
// clients' learning rate), recovers labels, runs the attack, and only then
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
#include "core/data.h"

namespace shoal::attacks {

struct AttackEnv {
  GradientOracle* oracle = nullptr;           // must outlive the call
  const Dataset* data = nullptr;              // scoring only
  std::span<const int64_t> client_indices;    // scoring only: the images this client holds
  ImageShape shape;
  double local_lr = 0.05;                     // the clients' learning rate (known to the server)
  uint64_t seed = 0;
  DefenseOptions defense;
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
  double update_norm = 0;                  // L2 norm of the update before the defence
  std::vector<double> image_psnr;
  std::vector<int32_t> labels_true, labels_guess;
  std::vector<float> recon;                // images x shape.size()
  std::vector<float> truth;                // the matched true image of each reconstruction
};

Result<AttackRecord> RunAttack(const AttackSpec& spec, const Observation& obs, AttackEnv& env);

// The defended update as the server would see it (exposed for tests):
// returns the observation map and writes the observed vector.
ObservationMap ApplyDefense(const DefenseOptions& d, std::span<const float> delta, uint64_t seed, int64_t round,
                            int client, std::vector<double>& observed);

}  // namespace shoal::attacks
