// LEAF-format federated datasets (Caldas et al., "LEAF: A Benchmark for
// Federated Settings", 2018), also used by FedProx and pFedMe's generators.
//
// One JSON file per split: {"users": [u...], "num_samples": [n_u...],
// "user_data": {u: {"x": [[float...]...], "y": [int...]}}}. Only numeric
// feature rows are supported (not Shakespeare's character strings).
// nlohmann::json throws; every exception is turned into a Status here.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/data.h"

namespace shoal {
namespace {

using nlohmann::json;

Result<json> ReadJson(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return NotFound(path + ": LEAF file not found");
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open LEAF file");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    return InvalidArgument(path + ": invalid JSON: " + e.what());
  }
}

// A label must be a non-negative integer (integral floats are accepted since
// some generators write labels through numpy floats).
Result<int32_t> ParseLabel(const json& v, const std::string& where) {
  if (v.is_number_integer() || v.is_number_unsigned()) {
    int64_t y = v.get<int64_t>();
    if (y >= 0 && y <= std::numeric_limits<int32_t>::max()) return static_cast<int32_t>(y);
  } else if (v.is_number_float()) {
    double y = v.get<double>();
    if (y >= 0 && y <= std::numeric_limits<int32_t>::max() && std::floor(y) == y) return static_cast<int32_t>(y);
  }
  return InvalidArgument(where + " must be a non-negative integer label, got " + v.dump());
}

// Appends one user's rows to `ds` and returns their indices. `ds.dim` is -1
// until the first row fixes the row length for both files.
Result<std::vector<int64_t>> AppendUser(const std::string& path, const std::string& user, const json& data,
                                        Dataset& ds) {
  const std::string where = path + ": user_data[\"" + user + "\"]";
  if (!data.is_object()) return InvalidArgument(where + " must be an object with \"x\" and \"y\"");
  for (const char* key : {"x", "y"}) {
    if (!data.contains(key)) return InvalidArgument(where + " is missing key \"" + key + "\"");
    if (!data[key].is_array()) return InvalidArgument(where + "[\"" + key + "\"] must be an array");
  }
  const json& xs = data["x"];
  const json& ys = data["y"];
  if (xs.size() != ys.size()) {
    return InvalidArgument(where + " has " + std::to_string(xs.size()) + " x rows but " + std::to_string(ys.size()) +
                           " y labels");
  }
  std::vector<int64_t> indices;
  indices.reserve(xs.size());
  for (size_t r = 0; r < xs.size(); ++r) {
    const std::string row_where = where + "[\"x\"][" + std::to_string(r) + "]";
    const json& row = xs[r];
    if (!row.is_array()) return InvalidArgument(row_where + " must be an array of numbers");
    if (ds.dim < 0) ds.dim = static_cast<int64_t>(row.size());
    if (static_cast<int64_t>(row.size()) != ds.dim) {
      return InvalidArgument(row_where + " has " + std::to_string(row.size()) + " values, expected " +
                             std::to_string(ds.dim) + " as in the earlier rows");
    }
    for (const json& v : row) {
      if (!v.is_number()) return InvalidArgument(row_where + " contains a non-number: " + v.dump());
      ds.x.push_back(v.get<float>());
    }
    ASSIGN_OR_RETURN(int32_t y, ParseLabel(ys[r], where + "[\"y\"][" + std::to_string(r) + "]"));
    indices.push_back(ds.size());
    ds.y.push_back(y);
  }
  return indices;
}

// Parses one LEAF file, calling `on_user(name, indices)` per user in file order.
Status ParseLeafFile(const std::string& path, Dataset& ds,
                     const std::function<Status(const std::string&, std::vector<int64_t>)>& on_user) {
  ASSIGN_OR_RETURN(json doc, ReadJson(path));
  if (!doc.is_object()) return InvalidArgument(path + ": top level must be a JSON object");
  if (!doc.contains("users") || !doc["users"].is_array()) {
    return InvalidArgument(path + ": missing key \"users\" (an array of user ids)");
  }
  if (!doc.contains("user_data") || !doc["user_data"].is_object()) {
    return InvalidArgument(path + ": missing key \"user_data\" (an object keyed by user id)");
  }
  const json& users = doc["users"];
  const json& user_data = doc["user_data"];
  const json* num_samples = doc.contains("num_samples") ? &doc["num_samples"] : nullptr;
  if (num_samples != nullptr && (!num_samples->is_array() || num_samples->size() != users.size())) {
    return InvalidArgument(path + ": \"num_samples\" must be an array with one count per user (" +
                           std::to_string(users.size()) + ")");
  }
  try {
    for (size_t u = 0; u < users.size(); ++u) {
      if (!users[u].is_string()) return InvalidArgument(path + ": users[" + std::to_string(u) + "] is not a string");
      const std::string name = users[u].get<std::string>();
      if (!user_data.contains(name))
        return InvalidArgument(path + ": user_data has no entry for user \"" + name + "\"");
      ASSIGN_OR_RETURN(std::vector<int64_t> indices, AppendUser(path, name, user_data[name], ds));
      if (num_samples != nullptr && (*num_samples)[u] != json(indices.size())) {
        return InvalidArgument(path + ": num_samples[" + std::to_string(u) + "] = " + (*num_samples)[u].dump() +
                               " but user \"" + name + "\" has " + std::to_string(indices.size()) + " samples");
      }
      RETURN_IF_ERROR(on_user(name, std::move(indices)));
    }
  } catch (const json::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  return Status::Ok();
}

// Shared fields of both splits once all rows are in.
Status Finish(FederatedData& data, const std::string& train_json, std::vector<int> sample_shape) {
  if (data.train.dim <= 0) return InvalidArgument(train_json + ": no samples (or empty rows) in the train file");
  if (sample_shape.empty()) sample_shape = {static_cast<int>(data.train.dim)};
  int64_t shape_product = 1;
  for (int s : sample_shape) {
    if (s < 1) return InvalidArgument(train_json + ": sample_shape entries must be >= 1, got " + std::to_string(s));
    shape_product *= s;
  }
  if (shape_product != data.train.dim) {
    return InvalidArgument(train_json + ": sample_shape has " + std::to_string(shape_product) +
                           " elements but rows have " + std::to_string(data.train.dim) + " values");
  }
  int32_t max_label = -1;
  for (const Dataset* ds : {&data.train, &data.test}) {
    if (!ds->y.empty()) max_label = std::max(max_label, *std::max_element(ds->y.begin(), ds->y.end()));
  }
  for (Dataset* ds : {&data.train, &data.test}) {
    ds->dim = data.train.dim;
    ds->sample_shape = sample_shape;
    ds->num_classes = max_label + 1;
  }
  return Status::Ok();
}

}  // namespace

Result<FederatedData> LoadLeaf(const std::string& train_json, const std::string& test_json,
                               std::vector<int> sample_shape) {
  FederatedData data;
  data.train.name = "leaf:" + std::filesystem::path(train_json).stem().string();
  data.test.name = "leaf:" + std::filesystem::path(test_json).stem().string();
  data.train.dim = -1;
  std::unordered_map<std::string, int> client_of;
  RETURN_IF_ERROR(ParseLeafFile(train_json, data.train, [&](const std::string& user, std::vector<int64_t> idx) {
    if (!client_of.emplace(user, data.num_clients()).second) {
      return InvalidArgument(train_json + ": user \"" + user + "\" is listed twice");
    }
    data.client_train.push_back(std::move(idx));
    return Status::Ok();
  }));
  if (data.client_train.empty()) return InvalidArgument(train_json + ": \"users\" is empty");
  data.client_test.resize(data.client_train.size());
  std::vector<bool> seen(data.client_train.size(), false);
  // Test rows must have the train row length: share the dim through `test`.
  data.test.dim = data.train.dim;
  RETURN_IF_ERROR(ParseLeafFile(test_json, data.test, [&](const std::string& user, std::vector<int64_t> idx) {
    auto it = client_of.find(user);
    if (it == client_of.end()) return InvalidArgument(test_json + ": user \"" + user + "\" is not in " + train_json);
    if (seen[it->second]) return InvalidArgument(test_json + ": user \"" + user + "\" is listed twice");
    seen[it->second] = true;
    data.client_test[it->second] = std::move(idx);
    return Status::Ok();
  }));
  RETURN_IF_ERROR(Finish(data, train_json, std::move(sample_shape)));
  return data;
}

}  // namespace shoal
