#include "sim/scenario.h"

#include "algorithms/attacks/probe.h"

#include <filesystem>

namespace shoal::sim {
namespace {

namespace fs = std::filesystem;

PartitionOptions ParsePartition(const ConfigNode& n) {
  PartitionOptions p;
  std::string m = n.Get<std::string>(
      "method", "dirichlet",
      [](const std::string& v) { return v == "iid" || v == "dirichlet" || v == "shards" || v == "quantity_skew"; },
      "one of iid, dirichlet, shards, quantity_skew");
  p.method = m == "iid" ? PartitionOptions::Method::kIid
             : m == "shards" ? PartitionOptions::Method::kShards
             : m == "quantity_skew" ? PartitionOptions::Method::kQuantitySkew
                                    : PartitionOptions::Method::kDirichlet;
  p.alpha = n.Get<double>("alpha", 0.5, [](const double& v) { return v > 0; }, "> 0");
  p.shards_per_client = n.Get<int>("shards_per_client", 2, [](const int& v) { return v >= 1; }, ">= 1");
  p.power = n.Get<double>("power", 1.5, [](const double& v) { return v > 0; }, "> 0");
  p.min_samples = n.Get<int>("min_samples", 1, [](const int& v) { return v >= 0; }, ">= 0");
  return p;
}

Status CheckFile(const ConfigNode& n, const std::string& key, const std::string& path, const std::string& hint) {
  if (!fs::exists(path))
    return NotFound(n.Where(key) + ": file '" + path + "' does not exist" + (hint.empty() ? "" : " (" + hint + ")"));
  return Status::Ok();
}

Result<DataOptions> ParseData(const ConfigNode& n) {
  DataOptions d;
  d.dataset = n.Get<std::string>(
      "dataset", d.dataset,
      [](const std::string& v) { return v == "fashion_mnist" || v == "synthetic" || v == "leaf"; },
      "one of fashion_mnist, synthetic, leaf");
  d.path = n.Get<std::string>("path", d.path);
  d.num_clients = n.Get<int>("num_clients", d.num_clients, [](const int& v) { return v >= 1; }, ">= 1");
  d.partition = ParsePartition(n.Child("partition"));
  d.client_test_fraction = n.Get<double>("client_test_fraction", 0.0, [](const double& v) { return v >= 0 && v < 1; },
                                         "in [0, 1)");
  d.max_train_samples = n.Get<int64_t>("max_train_samples", 0, [](const int64_t& v) { return v >= 0; }, ">= 0");
  ConfigNode syn = n.Child("synthetic");
  d.synthetic.alpha = syn.Get<double>("alpha", 0.5, [](const double& v) { return v >= 0; }, ">= 0");
  d.synthetic.beta = syn.Get<double>("beta", 0.5, [](const double& v) { return v >= 0; }, ">= 0");
  d.synthetic.num_users = syn.Get<int>("num_users", 100, [](const int& v) { return v >= 1; }, ">= 1");
  d.synthetic.dim = syn.Get<int>("dim", 60, [](const int& v) { return v >= 1; }, ">= 1");
  d.synthetic.num_classes = syn.Get<int>("num_classes", 10, [](const int& v) { return v >= 2; }, ">= 2");
  d.synthetic.iid = syn.Get<bool>("iid", false);
  d.synthetic.count_scale = syn.Get<int>("count_scale", 5, [](const int& v) { return v >= 1; }, ">= 1");
  d.synthetic.max_samples_per_user = syn.Get<int>("max_samples_per_user", 1000000, [](const int& v) { return v >= 2; }, ">= 2");
  ConfigNode leaf = n.Child("leaf");
  d.leaf_train = leaf.Get<std::string>("train", "");
  d.leaf_test = leaf.Get<std::string>("test", "");
  d.leaf_sample_shape = leaf.Get<std::vector<int>>("sample_shape", {});
  RETURN_IF_ERROR(n.status());
  if (d.dataset == "fashion_mnist") {
    for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                          "t10k-labels-idx1-ubyte.gz"})
      RETURN_IF_ERROR(CheckFile(n, "path", (fs::path(d.path) / f).string(), "install Debian's dataset-fashion-mnist"));
  } else if (d.dataset == "leaf") {
    if (d.leaf_train.empty()) return InvalidArgument(leaf.Where("train") + ": expected a LEAF train JSON path");
    if (d.leaf_test.empty()) return InvalidArgument(leaf.Where("test") + ": expected a LEAF test JSON path");
    RETURN_IF_ERROR(CheckFile(leaf, "train", d.leaf_train, ""));
    RETURN_IF_ERROR(CheckFile(leaf, "test", d.leaf_test, ""));
  }
  return d;
}

}  // namespace

Result<Scenario> LoadScenario(const std::string& path, const std::vector<std::string>& overrides) {
  ASSIGN_OR_RETURN(ConfigNode root, ConfigNode::LoadFile(path));
  for (const auto& o : overrides) RETURN_IF_ERROR(root.Override(o));
  Scenario s;
  s.source = path;
  s.root = root;
  s.name = root.Get<std::string>("name", fs::path(path).stem().string());
  s.seed = root.Get<uint64_t>("seed", 0);
  s.backend = root.Get<std::string>("backend", "auto");
  s.threads = root.Get<int>("threads", 0, [](const int& v) { return v >= 0; }, ">= 0 (0 = all cores)");
  ConfigNode model = root.Child("model");
  s.model = model.Get<std::string>("name", "mlp");
  ConfigNode eval = root.Child("eval");
  s.eval_every = eval.Get<int>("every", 5, [](const int& v) { return v >= 1; }, ">= 1");
  s.eval_max_samples = eval.Get<int64_t>("max_samples", 0, [](const int64_t& v) { return v >= 0; }, ">= 0");
  s.out_dir = root.Child("output").Get<std::string>("dir", "runs");
  RETURN_IF_ERROR(root.status());
  if (auto be = GetBackend(s.backend); !be.ok()) return InvalidArgument(root.Where("backend") + ": " + be.status().message());
  bool known_model = false;
  for (const auto& m : Model<float>::ArchitectureNames()) known_model |= (m == s.model);
  if (!known_model) {
    std::string valid;
    for (const auto& m : Model<float>::ArchitectureNames()) valid += (valid.empty() ? "" : ", ") + m;
    return InvalidArgument(model.Where("name") + ": unknown model '" + s.model + "'; valid: " + valid);
  }
  ASSIGN_OR_RETURN(s.data, ParseData(root.Child("data")));
  ASSIGN_OR_RETURN(s.devices, DeviceOptions::Parse(root.Child("devices")));
  // Build the algorithm once so its keys are read and validated now.
  ASSIGN_OR_RETURN(Algorithm probe, MakeAlgorithm(root.Child("strategy"), root.Child("client")));
  (void)probe;
  // Attack probes (shoal-sim attack) are validated here so `validate` accepts them.
  RETURN_IF_ERROR(attacks::ParseAttackConfig(root).status());
  RETURN_IF_ERROR(root.CheckUnknownKeys());
  return s;
}

Result<FederatedData> LoadFederatedData(const Scenario& s) {
  const DataOptions& d = s.data;
  FederatedData fd;
  if (d.dataset == "fashion_mnist") {
    ASSIGN_OR_RETURN(fd, LoadFashionMnist(d.path));
  } else if (d.dataset == "synthetic") {
    ASSIGN_OR_RETURN(fd, GenerateSynthetic(d.synthetic, s.seed));
  } else {
    ASSIGN_OR_RETURN(fd, LoadLeaf(d.leaf_train, d.leaf_test, d.leaf_sample_shape));
  }
  if (d.max_train_samples > 0 && d.max_train_samples < fd.train.size() && fd.client_train.empty()) {
    fd.train.x.resize(static_cast<size_t>(d.max_train_samples * fd.train.dim));
    fd.train.y.resize(static_cast<size_t>(d.max_train_samples));
  }
  if (fd.client_train.empty()) {  // a centralised dataset: partition it
    ASSIGN_OR_RETURN(fd.client_train,
                     Partition(fd.train.y, fd.train.num_classes, d.num_clients, d.partition, s.seed));
  }
  if (d.client_test_fraction > 0 && fd.client_test.empty()) SplitClientData(fd, d.client_test_fraction, s.seed);
  return fd;
}

Result<Experiment> BuildExperiment(const Scenario& s) {
  Experiment e;
  ASSIGN_OR_RETURN(e.backend, GetBackend(s.backend));
  ASSIGN_OR_RETURN(e.data, LoadFederatedData(s));
  ASSIGN_OR_RETURN(e.model, Model<float>::Create(s.model, e.data.train.sample_shape,
                                                 std::max(e.data.train.num_classes, e.data.test.num_classes)));
  ASSIGN_OR_RETURN(e.algorithm, MakeAlgorithm(s.root.Child("strategy"), s.root.Child("client")));
  if (s.devices.configured) {
    ASSIGN_OR_RETURN(DeviceProfiles profiles, DeviceProfiles::Make(s.devices, e.data.num_clients(), s.seed));
    e.devices = std::make_shared<const DeviceProfiles>(std::move(profiles));
  }
  return e;
}

}  // namespace shoal::sim
