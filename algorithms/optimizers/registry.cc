// The one list of local optimizers: name, summary, hyperparameters with
// defaults (the first is always lr, each optimizer's own default), constructor
// and range checks. Checks shared by name: beta* and momentum in [0, 1),
// eps* > 0, weight_decay >= 0, switches 0/1, cautious 0/1/2; the rest per entry.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "algorithms/optimizers/factories.h"
#include "algorithms/optimizers/schedule.h"

namespace shoal {
namespace {

using Defaults = std::vector<std::pair<std::string, double>>;
// Returns {key, expectation} of the first invalid hyperparameter, or {} when valid.
using Check = std::pair<std::string, std::string> (*)(const HParams&);

struct Entry {
  OptimizerInfo info;
  OptimizerMaker make;
  Check check = nullptr;
};

const Defaults kAdam = {{"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}};

Defaults With(Defaults base, const Defaults& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}
Defaults Lr(double lr, const Defaults& rest) { return With({{"lr", lr}}, rest); }

const std::vector<Entry>& Registry() {
  static const std::vector<Entry> kEntries = {
      {{"sgd", "SGD, optional PyTorch momentum/Nesterov, coupled weight decay",
        Lr(0.05, {{"momentum", 0.0}, {"nesterov", 0.0}, {"weight_decay", 0.0}})}, MakeSgd},
      {{"momentum", "SGD with PyTorch heavy-ball momentum (b = mu b + g; p -= lr b)",
        Lr(0.05, {{"momentum", 0.9}, {"nesterov", 0.0}, {"weight_decay", 0.0}})}, MakeSgd},
      {{"nesterov", "SGD with PyTorch Nesterov momentum (p -= lr (g + mu b))",
        Lr(0.05, {{"momentum", 0.9}, {"nesterov", 1.0}, {"weight_decay", 0.0}})}, MakeSgd},
      {{"adam", "Adam (PyTorch form), coupled L2, optional cautious mask",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}, {"cautious", 0}}))}, MakeAdam},
      {{"adamw", "AdamW, decoupled weight decay, optional cautious mask",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.01}, {"cautious", 0}}))}, MakeAdamW},
      {{"amsgrad", "AMSGrad; form 0 PyTorch, 1 Reddi Alg. 2, 2 max of bias-corrected v",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}, {"form", 0}}))}, MakeAmsgrad,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         double f = h.at("form");
         if (f != 0 && f != 1 && f != 2) return {"form", "0, 1 or 2"};
         return {};
       }},
      {{"nadam", "NAdam (PyTorch form, momentum decay psi)",
        Lr(2e-3, With(kAdam, {{"weight_decay", 0.0}, {"momentum_decay", 4e-3}}))}, MakeNadam,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("momentum_decay") >= 0)) return {"momentum_decay", ">= 0"};
         return {};
       }},
      {{"radam", "RAdam (rectified Adam; momentum SGD while rho_t <= 5)",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}}))}, MakeRadam},
      {{"adabelief", "AdaBelief v0.2 (belief s = EMA (g-m)^2 + eps, rectified, decoupled wd)",
        Lr(1e-3, {{"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-16}, {"weight_decay", 0.0}, {"rectify", 1}})},
       MakeAdabelief},
      {{"diffgrad", "diffGrad v2 (friction sigmoid(|g_prev - g|) on the Adam step)",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}}))}, MakeDiffgrad},
      {{"adabound", "AdaBound (per-entry step clipped to bounds converging to final_lr)",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}, {"final_lr", 0.1}, {"gamma", 1e-3}}))}, MakeAdabound,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("final_lr") > 0)) return {"final_lr", "> 0"};
         if (!(h.at("gamma") > 0)) return {"gamma", "> 0"};
         return {};
       }},
      {{"adamp", "AdamP (radial component removed for scale-invariant weights)",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}, {"delta", 0.1}, {"wd_ratio", 0.1}, {"nesterov", 0}}))},
       MakeAdamp,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("delta") > 0)) return {"delta", "> 0"};
         if (!(h.at("wd_ratio") >= 0 && h.at("wd_ratio") <= 1)) return {"wd_ratio", "in [0, 1]"};
         return {};
       }},
      {{"lion", "Lion (sign of interpolated momentum), optional cautious mask",
        Lr(1e-4, {{"beta1", 0.9}, {"beta2", 0.99}, {"weight_decay", 0.0}, {"cautious", 0}})}, MakeLion},
      {{"adafactor", "Adafactor (factored second moments, relative step; lr used only if relative_step=0)",
        Lr(1e-2, {{"eps1", 1e-30}, {"eps2", 1e-3}, {"clip_threshold", 1.0}, {"decay_rate", -0.8}, {"beta1", 0.0},
                  {"weight_decay", 0.0}, {"relative_step", 1}, {"scale_parameter", 1}, {"warmup_init", 0}})},
       MakeAdafactor,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("clip_threshold") > 0)) return {"clip_threshold", "> 0"};
         if (!(h.at("decay_rate") < 0)) return {"decay_rate", "< 0"};
         return {};
       }},
      {{"ademamix", "AdEMAMix (fast + slow EMA of g; optional alpha/beta3 warm-ups, 0 = off)",
        Lr(1e-3, {{"beta1", 0.9}, {"beta2", 0.999}, {"beta3", 0.9999}, {"alpha", 2.0}, {"eps", 1e-8},
                  {"weight_decay", 0.0}, {"t_alpha", 0}, {"t_beta3", 0}})}, MakeAdemamix,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("alpha") >= 0)) return {"alpha", ">= 0"};
         if (!(h.at("t_alpha") >= 0)) return {"t_alpha", ">= 0"};
         if (!(h.at("t_beta3") >= 0)) return {"t_beta3", ">= 0"};
         return {};
       }},
      {{"grams", "Grams (sign of g with Adam magnitudes), decoupled wd",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}}))}, MakeGrams},
      {{"adagrad", "Adagrad", Lr(1e-2, {{"eps", 1e-10}, {"weight_decay", 0.0}})}, MakeAdagrad},
      {{"rmsprop", "RMSprop (no bias correction)", Lr(1e-2, {{"alpha", 0.99}, {"eps", 1e-8}, {"weight_decay", 0.0}})},
       MakeRmsprop,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("alpha") >= 0 && h.at("alpha") < 1)) return {"alpha", "in [0, 1)"};
         return {};
       }},
      {{"adadelta", "Adadelta", Lr(1.0, {{"rho", 0.9}, {"eps", 1e-6}, {"weight_decay", 0.0}})}, MakeAdadelta,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("rho") >= 0 && h.at("rho") < 1)) return {"rho", "in [0, 1)"};
         return {};
       }},
      {{"adamax", "Adamax (infinity-norm Adam)", Lr(2e-3, With(kAdam, {{"weight_decay", 0.0}}))}, MakeAdamax},
      {{"adam8bit", "8-bit Adam (block-wise dynamic quantization of m and v)",
        Lr(1e-3, With(kAdam, {{"weight_decay", 0.0}, {"block_size", 256}, {"min_8bit_size", 4096}}))},
       MakeAdam8bit,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         double b = h.at("block_size");
         if (!(b >= 1 && b <= 256 && b == std::floor(b))) return {"block_size", "an integer in [1, 256]"};
         if (!(h.at("min_8bit_size") >= 0)) return {"min_8bit_size", ">= 0"};
         return {};
       }},
      {{"adahessian", "AdaHessian (Hutchinson |Hz| diagonal, spatial averaging on conv kernels)",
        Lr(0.15, {{"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-4}, {"hessian_power", 1.0}, {"weight_decay", 0.0}})},
       MakeAdahessian,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("hessian_power") > 0 && h.at("hessian_power") <= 1)) return {"hessian_power", "in (0, 1]"};
         return {};
       }},
      {{"sophia", "Sophia (clipped Newton-like step; estimator 0 GNB = SophiaG, 1 Hutchinson = Sophia-H)",
        Lr(1e-4, {{"beta1", 0.965}, {"beta2", 0.99}, {"rho", 0.04}, {"weight_decay", 0.1}, {"update_period", 10},
                  {"bs", 5120}, {"estimator", 0}})},
       MakeSophia,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("rho") > 0)) return {"rho", "> 0"};
         if (!(h.at("update_period") >= 1)) return {"update_period", ">= 1"};
         if (!(h.at("bs") >= 1)) return {"bs", ">= 1"};
         if (h.at("estimator") != 0 && h.at("estimator") != 1) return {"estimator", "0 (GNB) or 1 (Hutchinson)"};
         return {};
       }},
      {{"shampoo",
        "Shampoo (Kronecker factors per block_size block of each layer, inverse 4th roots; diagonal factors "
        "over max_preconditioner_dim; grafting 0 none, 1 adagrad, 2 adam)",
        Lr(1e-2, {{"beta1", 0.9}, {"factor_beta", 1.0}, {"eps", 1e-12}, {"weight_decay", 0.0},
                  {"precondition_frequency", 10}, {"start_preconditioning_step", -1},
                  {"block_size", 1024}, {"max_preconditioner_dim", 1024}, {"grafting", 0}, {"graft_eps", 1e-10}})},
       MakeShampoo,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("factor_beta") > 0 && h.at("factor_beta") <= 1)) return {"factor_beta", "in (0, 1] (1 = sum)"};
         if (!(h.at("precondition_frequency") >= 1)) return {"precondition_frequency", ">= 1"};
         if (!(h.at("start_preconditioning_step") >= -1)) return {"start_preconditioning_step", ">= -1"};
         if (!(h.at("max_preconditioner_dim") >= 1)) return {"max_preconditioner_dim", ">= 1"};
         if (!(h.at("block_size") >= 0)) return {"block_size", ">= 0 (0 = no blocking)"};
         double g = h.at("grafting");
         if (g != 0 && g != 1 && g != 2) return {"grafting", "0 (none), 1 (adagrad) or 2 (adam)"};
         return {};
       }},
      {{"soap",
        "SOAP (Adam in Shampoo's eigenbasis per block_size block, refreshed every precondition_frequency steps)",
        Lr(3e-3, {{"beta1", 0.95}, {"beta2", 0.95}, {"eps", 1e-8}, {"weight_decay", 0.01},
                  {"precondition_frequency", 10}, {"precond_beta", -1}, {"block_size", 1024},
                  {"max_precond_dim", 10000}})},
       MakeSoap,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         double b = h.at("precond_beta");
         if (!(b == -1 || (b >= 0 && b < 1))) return {"precond_beta", "-1 (= beta2) or in [0, 1)"};
         if (!(h.at("precondition_frequency") >= 1)) return {"precondition_frequency", ">= 1"};
         if (!(h.at("max_precond_dim") >= 1)) return {"max_precond_dim", ">= 1"};
         if (!(h.at("block_size") >= 0)) return {"block_size", ">= 0 (0 = no blocking)"};
         return {};
       }},
      {{"dog", "DoG (distance over gradients, parameter-free; lr is the multiplier c)",
        Lr(1.0, {{"reps_rel", 1e-6}, {"eps", 1e-8}, {"weight_decay", 0.0}})}, MakeDog,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("reps_rel") > 0)) return {"reps_rel", "> 0"};
         return {};
       }},
      {{"sps", "stochastic Polyak step SPS_max (lr is the cap gamma_b)", Lr(1.0, {{"c", 0.5}, {"f_star", 0.0}})},
       MakeSps,
       [](const HParams& h) -> std::pair<std::string, std::string> {
         if (!(h.at("c") > 0)) return {"c", "> 0"};
         return {};
       }},
  };
  return kEntries;
}

std::string ValidNames() {
  std::string s;
  for (const auto& e : Registry()) s += (s.empty() ? "" : ", ") + e.info.name;
  return s;
}

const Entry* Find(const std::string& name) {
  for (const auto& e : Registry())
    if (e.info.name == name) return &e;
  return nullptr;
}

// Checks shared by key name; {} when valid.
std::pair<std::string, std::string> CheckCommon(const HParams& h) {
  for (const auto& [k, v] : h) {
    if (!std::isfinite(v)) return {k, "a finite number"};
    if (k == "lr" && !(v > 0)) return {k, "a learning rate > 0"};
    if ((k.rfind("beta", 0) == 0 || k == "momentum") && !(v >= 0 && v < 1)) return {k, "in [0, 1)"};
    if (k.rfind("eps", 0) == 0 && !(v > 0)) return {k, "> 0"};
    if (k == "weight_decay" && !(v >= 0)) return {k, ">= 0"};
    if ((k == "nesterov" || k == "rectify" || k == "relative_step" || k == "scale_parameter" ||
         k == "warmup_init") && v != 0 && v != 1)
      return {k, "0 or 1"};
    if (k == "cautious" && v != 0 && v != 1 && v != 2) return {k, "0 (off), 1 (mean scale) or 2 (n/(nnz+1) scale)"};
  }
  return {};
}

std::string Hyperparameters(const Entry& e) {
  std::ostringstream os;
  for (const auto& [k, v] : e.info.defaults) os << (os.tellp() > 0 ? ", " : "") << k << "=" << v;
  return os.str();
}

// Validates resolved hyperparameters; `where` names the key for messages.
Status Validate(const Entry& e, const HParams& h, const std::function<std::string(const std::string&)>& where) {
  auto bad = CheckCommon(h);
  if (bad.first.empty() && e.check) bad = e.check(h);
  if (bad.first.empty()) return Status();
  std::ostringstream os;
  os << where(bad.first) << ": invalid value " << h.at(bad.first) << " for optimizer '" << e.info.name
     << "': expected " << bad.second << " (hyperparameters and defaults: " << Hyperparameters(e)
     << "; valid optimizers: " << ValidNames() << ")";
  return InvalidArgument(os.str());
}

}  // namespace

std::vector<OptimizerInfo> ListOptimizers() {
  std::vector<OptimizerInfo> out;
  for (const auto& e : Registry()) out.push_back(e.info);
  return out;
}

Result<OptimizerSpec> ParseOptimizer(const ConfigNode& node) {
  std::string name = node.Get<std::string>("name", "sgd");
  const Entry* e = Find(name);
  if (e == nullptr)
    return InvalidArgument(node.Where("name") + ": unknown optimizer '" + name + "'; valid names: " + ValidNames());
  OptimizerSpec spec;
  spec.name = name;
  for (const auto& [key, def] : e->info.defaults) spec.hparams[key] = node.Get<double>(key, def);
  RETURN_IF_ERROR(node.status());
  RETURN_IF_ERROR(Validate(*e, spec.hparams, [&](const std::string& k) { return node.Where(k); }));
  ASSIGN_OR_RETURN(LrSchedule schedule, LrSchedule::Parse(node.Child("schedule")));
  spec.lr = spec.hparams.at("lr");
  OptimizerMaker make = e->make;
  HParams h = spec.hparams;
  spec.create = [make, h, schedule](const ParamLayout& l, const Backend& be) {
    return WithSchedule(make(l, be, h), schedule);
  };
  return spec;
}

Result<std::unique_ptr<Optimizer>> MakeOptimizer(const std::string& name, const HParams& overrides,
                                                 const ParamLayout& layout, const Backend& be) {
  const Entry* e = Find(name);
  if (e == nullptr) return InvalidArgument("unknown optimizer '" + name + "'; valid names: " + ValidNames());
  HParams h;
  for (const auto& [key, def] : e->info.defaults) h[key] = def;
  for (const auto& [key, v] : overrides) {
    if (!h.count(key))
      return InvalidArgument("optimizer '" + name + "' has no hyperparameter '" + key + "' (has: " + Hyperparameters(*e) + ")");
    h[key] = v;
  }
  RETURN_IF_ERROR(Validate(*e, h, [&](const std::string& k) { return "optimizer." + k; }));
  return e->make(layout, be, h);
}

}  // namespace shoal
