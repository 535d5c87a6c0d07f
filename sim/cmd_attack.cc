#include "sim/cmd_attack.h"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "algorithms/attacks/campaign.h"
#include "algorithms/attacks/png_writer.h"
#include "sim/scenario.h"
#include "sim/simulator.h"
#include "sim/thread_pool.h"

namespace shoal::sim {
namespace {

namespace fs = std::filesystem;
using attacks::AttackRecord;
using attacks::Observation;

int Fail(const Status& st) {
  spdlog::error("{}", st.message());
  return 1;
}

nlohmann::ordered_json RecordJson(const AttackRecord& r, double seconds) {
  nlohmann::ordered_json j;
  j["attack"] = r.attack;
  j["round"] = r.round;
  j["client"] = r.client;
  if (r.has_images) {
    j["psnr"] = r.psnr;
    j["ssim"] = r.ssim;
  } else {
    j["psnr"] = nullptr;
    j["ssim"] = nullptr;
  }
  j["label_acc"] = r.label_acc;
  j["images"] = r.images;
  if (r.has_images) j["frac_above"] = r.frac_above;
  j["local_steps"] = r.local_steps;
  j["update_norm"] = r.update_norm;
  j["observation"] = r.observation;
  j["match"] = r.match;
  if (r.attack.find("sme") != std::string::npos || r.lambda != 0) j["lambda"] = r.lambda;
  j["image_psnr"] = r.image_psnr;
  j["labels_true"] = r.labels_true;
  j["labels_guess"] = r.labels_guess;
  j["seconds"] = seconds;
  return j;
}

// Writes `images` (each `d` floats) as a grid; returns false on I/O failure.
bool WriteGrid(const fs::path& path, const std::vector<std::span<const float>>& images, const attacks::ImageShape& s,
               int cols) {
  int w = 0, h = 0;
  auto px = attacks::ImageGrid(images, s.channels, s.height, s.width, cols, 3, &w, &h);
  std::string err;
  if (!attacks::WritePng(path.string(), px, w, h, s.channels == 3 ? 3 : 1, &err)) {
    spdlog::warn("{}", err);
    return false;
  }
  return true;
}

// Per attack: blocks of up to 16 updates, true images in one row and the
// reconstructions in the row below.
void WriteOverview(const fs::path& dir, const std::string& attack, const std::vector<const AttackRecord*>& recs,
                   const attacks::ImageShape& s) {
  const size_t d = static_cast<size_t>(s.size());
  std::vector<std::span<const float>> truth, recon;
  for (const AttackRecord* r : recs)
    for (int k = 0; k < r->images; ++k) {
      truth.emplace_back(r->truth.data() + k * d, d);
      recon.emplace_back(r->recon.data() + k * d, d);
    }
  if (truth.empty()) return;
  const int cols = static_cast<int>(std::min<size_t>(16, truth.size()));
  std::vector<std::span<const float>> grid;
  for (size_t start = 0; start < truth.size(); start += cols) {
    for (size_t k = start; k < start + cols; ++k) grid.push_back(k < truth.size() ? truth[k] : std::span<const float>());
    for (size_t k = start; k < start + cols; ++k) grid.push_back(k < recon.size() ? recon[k] : std::span<const float>());
  }
  // Pad missing cells with blank images.
  std::vector<float> blank(d, 0.5f);
  for (auto& g : grid)
    if (g.empty()) g = blank;
  WriteGrid(dir / (attack + ".png"), grid, s, cols);
}

}  // namespace

CLI::App* RegisterAttackCommand(CLI::App& app, AttackCliArgs& a) {
  auto* cmd = app.add_subcommand("attack", "run the scenario's gradient-inversion probes and score them");
  cmd->add_option("SCENARIO", a.scenario, "scenario YAML file with an 'attacks:' section")->required();
  cmd->add_option("--out", a.out, "output directory (default: runs/<name>)");
  cmd->add_option("--set", a.sets, "override a scenario key: key.path=value (repeatable)");
  cmd->add_option("--threads", a.threads, "worker threads for the attacks (default: scenario 'threads' or all cores)");
  return cmd;
}

int RunAttackCommand(const AttackCliArgs& a) {
  auto sc = LoadScenario(a.scenario, a.sets);
  if (!sc.ok()) return Fail(sc.status());
  const Scenario& s = *sc;
  auto cfg = attacks::ParseAttackConfig(s.root);
  if (!cfg.ok()) return Fail(cfg.status());
  if (cfg->attacks.empty()) return Fail(InvalidArgument(a.scenario + ": no 'attacks:' probes to run"));
  auto exp = BuildExperiment(s);
  if (!exp.ok()) return Fail(exp.status());
  const int threads = a.threads > 0 ? a.threads : (s.threads > 0 ? s.threads : static_cast<int>(std::thread::hardware_concurrency()));
  fs::path out = a.out.empty() ? fs::path(s.out_dir) / s.name : fs::path(a.out);
  std::error_code ec;
  fs::create_directories(out / "grids", ec);
  if (ec) return Fail(Unavailable(out.string() + ": cannot create output directory: " + ec.message()));
  { std::ofstream(out / "config.resolved.yaml") << s.root.Dump() << "\n"; }

  // Attach the probes and run the federated simulation.
  std::vector<Observation> observed;
  const std::vector<attacks::AttackSpec>& specs = cfg->attacks;
  auto wanted = [&specs](int64_t round, int client) {
    for (const auto& sp : specs)
      if (sp.Wants(round, client)) return true;
    return false;
  };
  exp->algorithm.strategy = std::make_unique<attacks::ProbeStrategy>(
      std::move(exp->algorithm.strategy), wanted, [&observed](Observation&& o) { observed.push_back(std::move(o)); });
  auto jsonl = MakeJsonlSink((out / "metrics.jsonl").string());
  if (!jsonl.ok()) return Fail(jsonl.status());
  SimOptions opts;
  opts.threads = threads;
  opts.eval_every = s.eval_every;
  opts.eval_max_samples = s.eval_max_samples;
  opts.seed = s.seed;
  opts.devices = exp->devices;
  {
    Simulator simulator(*exp, opts, **jsonl);
    auto sum = simulator.Run();
    if (!sum.ok()) return Fail(sum.status());
  }
  if (Status st = (*jsonl)->Close(); !st.ok()) return Fail(st);
  spdlog::info("scenario {}: observed {} updates; running {} probe(s) on {} threads", s.name, observed.size(),
               specs.size(), threads);

  // One job per (probe, observed update), in a fixed order.
  std::vector<std::pair<const attacks::AttackSpec*, const Observation*>> jobs;
  for (const auto& sp : specs) {
    int taken = 0;
    for (const auto& o : observed)
      if (sp.Wants(o.round, o.client) && (sp.max_updates == 0 || taken < sp.max_updates)) {
        jobs.emplace_back(&sp, &o);
        ++taken;
      }
  }
  const Dataset& train = exp->data.train;
  attacks::ImageShape shape;
  const auto& ss = train.sample_shape;
  if (ss.size() == 3) shape = {ss[0], ss[1], ss[2]};
  else shape = {1, 1, static_cast<int>(train.dim)};
  const double local_lr = s.root.Child("client").Child("optimizer").Get<double>("lr", 0.05);
  // Per-channel mean / std of the server's held-out test set (disjoint from
  // every client's data): the normalisation constants IG and SME optimise in.
  std::vector<double> mean, stdev;
  if (const Dataset& held = exp->data.test; held.size() > 0 && held.dim == train.dim) {
    const int64_t plane = std::max<int64_t>(1, int64_t{shape.height} * shape.width);
    std::vector<double> sum(static_cast<size_t>(shape.channels), 0.0), sq(sum.size(), 0.0);
    for (int64_t i = 0; i < held.size(); ++i)
      for (int64_t j = 0; j < held.dim; ++j) {
        const double v = held.row(i)[j];
        const size_t c = static_cast<size_t>(std::min<int64_t>(j / plane, shape.channels - 1));
        sum[c] += v;
        sq[c] += v * v;
      }
    const double count = static_cast<double>(held.size()) * static_cast<double>(plane);
    for (size_t c = 0; c < sum.size(); ++c) {
      mean.push_back(sum[c] / count);
      stdev.push_back(std::max(1e-3, std::sqrt(std::max(0.0, sq[c] / count - mean.back() * mean.back()))));
    }
    spdlog::info("input normalisation (test set, {} images): mean {:.4f} std {:.4f} (channel 0)", held.size(), mean[0],
                 stdev[0]);
  }
  std::vector<Result<AttackRecord>> results(jobs.size(), Internal("not run"));
  std::vector<double> seconds(jobs.size(), 0.0);
  std::vector<std::unique_ptr<attacks::GradientOracle>> oracles(static_cast<size_t>(threads));
  std::mutex log_mu;
  ThreadPool pool(threads);
  pool.ParallelFor(static_cast<int64_t>(jobs.size()), [&](int worker, int64_t i) {
    auto& oracle = oracles[static_cast<size_t>(worker)];
    if (!oracle) {
      auto created = attacks::GradientOracle::Create(s.model, train.sample_shape,
                                                     std::max(train.num_classes, exp->data.test.num_classes), *exp->backend);
      if (!created.ok()) {
        results[static_cast<size_t>(i)] = created.status();
        return;
      }
      oracle = std::move(*created);
    }
    const auto& [spec, obs] = jobs[static_cast<size_t>(i)];
    attacks::AttackEnv env;
    env.oracle = oracle.get();
    env.data = &train;
    env.client_indices = exp->data.client_train[static_cast<size_t>(obs->client)];
    env.shape = shape;
    env.local_lr = local_lr;
    env.seed = s.seed;
    env.pipeline = exp->algorithm.pipeline.get();
    env.backend = exp->backend;
    env.layout = &exp->model->layout();
    env.input_mean = mean;
    env.input_std = stdev;
    const auto t0 = std::chrono::steady_clock::now();
    results[static_cast<size_t>(i)] = attacks::RunAttack(*spec, *obs, env);
    seconds[static_cast<size_t>(i)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(log_mu);
    if (results[static_cast<size_t>(i)].ok()) {
      const auto& r = *results[static_cast<size_t>(i)];
      spdlog::info("{} round {} client {}: psnr {:.2f} ssim {:.3f} label_acc {:.2f} ({:.1f} s)", r.attack, r.round,
                   r.client, r.psnr, r.ssim, r.label_acc, seconds[static_cast<size_t>(i)]);
    }
  });

  // Outputs, in job order.
  std::ofstream lines(out / "attacks.jsonl");
  std::map<std::string, std::vector<const AttackRecord*>> by_attack;
  std::vector<std::string> order;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!results[i].ok()) return Fail(results[i].status());
    const AttackRecord& r = *results[i];
    lines << RecordJson(r, seconds[i]).dump() << "\n";
    if (!by_attack.count(r.attack)) order.push_back(r.attack);
    by_attack[r.attack].push_back(&r);
    if (r.has_images && r.images > 1) {
      std::vector<std::span<const float>> g;
      const size_t d = static_cast<size_t>(shape.size());
      for (int k = 0; k < r.images; ++k) g.emplace_back(r.truth.data() + k * d, d);
      for (int k = 0; k < r.images; ++k) g.emplace_back(r.recon.data() + k * d, d);
      WriteGrid(out / "grids" / (r.attack + "_r" + std::to_string(r.round) + "_c" + std::to_string(r.client) + ".png"),
                g, shape, r.images);
    }
  }
  nlohmann::ordered_json summary;
  summary["scenario"] = s.name;
  for (const auto& name : order) {
    const auto& recs = by_attack[name];
    double psnr = 0, ssim = 0, acc = 0, above = 0, lambda = 0;
    int imgs = 0;
    for (const AttackRecord* r : recs) {
      psnr += r->psnr * r->images;
      ssim += r->ssim * r->images;
      above += r->frac_above * r->images;
      acc += r->label_acc;
      lambda += r->lambda;
      imgs += r->images;
    }
    nlohmann::ordered_json j;
    j["updates"] = recs.size();
    j["images"] = imgs;
    j["label_acc"] = acc / recs.size();
    if (recs.front()->has_images) {
      j["psnr"] = psnr / imgs;  // mean over images
      j["ssim"] = ssim / imgs;
      j["frac_above"] = above / imgs;
      WriteOverview(out / "grids", name, recs, shape);
    }
    if (lambda != 0) j["lambda"] = lambda / recs.size();
    summary["attacks"][name] = j;
    if (recs.front()->has_images)
      spdlog::info("{:>12}: {} updates, {} images, mean psnr {:.2f} dB, ssim {:.3f}, label acc {:.3f}", name,
                   recs.size(), imgs, psnr / imgs, ssim / imgs, acc / recs.size());
    else
      spdlog::info("{:>12}: {} updates, {} images, label acc {:.3f}", name, recs.size(), imgs, acc / recs.size());
  }
  { std::ofstream(out / "attack_summary.json") << summary.dump(2) << "\n"; }
  spdlog::info("results in {}", out.string());
  return 0;
}

}  // namespace shoal::sim
