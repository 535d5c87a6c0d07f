#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace shoal {

struct ConfigNode::Impl {
  YAML::Node node;
};

struct ConfigNode::State {
  std::string source;
  YAML::Node root;
  Status first_error;
  std::map<std::string, std::set<std::string>> queried;  // map path -> keys asked for
  std::set<std::string> overridden;                       // full key paths set by --set
};

namespace {

// Const lookup: non-const operator[] on a yaml-cpp map may insert the key.
YAML::Node Lookup(const YAML::Node& n, const std::string& key) { return n[key]; }

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string Scalar(const YAML::Node& n) {
  if (n.IsScalar()) return n.Scalar();
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a map";
  return "null";
}

template <typename T>
std::optional<T> Convert(const YAML::Node& n);

template <>
std::optional<std::string> Convert(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  return n.Scalar();
}
template <>
std::optional<bool> Convert(const YAML::Node& n) {
  bool v;
  if (n.IsScalar() && YAML::convert<bool>::decode(n, v)) return v;
  return std::nullopt;
}
template <typename I>
std::optional<I> ConvertInt(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  const std::string& s = n.Scalar();
  try {
    size_t pos = 0;
    long long v = std::stoll(s, &pos, 10);
    if (pos != s.size()) {
      // Accept integral floats such as 1e3.
      double d = std::stod(s, &pos);
      if (pos != s.size() || d != static_cast<double>(static_cast<long long>(d))) return std::nullopt;
      v = static_cast<long long>(d);
    }
    if (v < static_cast<long long>(std::numeric_limits<I>::min()) ||
        (v > 0 && static_cast<unsigned long long>(v) > static_cast<unsigned long long>(std::numeric_limits<I>::max())))
      return std::nullopt;
    return static_cast<I>(v);
  } catch (...) {
    return std::nullopt;
  }
}
template <>
std::optional<int> Convert(const YAML::Node& n) { return ConvertInt<int>(n); }
template <>
std::optional<int64_t> Convert(const YAML::Node& n) { return ConvertInt<int64_t>(n); }
template <>
std::optional<uint64_t> Convert(const YAML::Node& n) { return ConvertInt<uint64_t>(n); }
template <>
std::optional<double> Convert(const YAML::Node& n) {
  if (!n.IsScalar()) return std::nullopt;
  const std::string& s = n.Scalar();
  if (s == ".inf" || s == "inf") return std::numeric_limits<double>::infinity();
  try {
    size_t pos = 0;
    double v = std::stod(s, &pos);
    if (pos != s.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}
template <typename E>
std::optional<std::vector<E>> ConvertVec(const YAML::Node& n) {
  if (!n.IsSequence()) {
    auto one = Convert<E>(n);  // a scalar stands for a one-element list
    if (!one) return std::nullopt;
    return std::vector<E>{*one};
  }
  std::vector<E> out;
  for (const auto& item : n) {
    auto v = Convert<E>(item);
    if (!v) return std::nullopt;
    out.push_back(*v);
  }
  return out;
}
template <>
std::optional<std::vector<double>> Convert(const YAML::Node& n) { return ConvertVec<double>(n); }
template <>
std::optional<std::vector<int>> Convert(const YAML::Node& n) { return ConvertVec<int>(n); }
template <>
std::optional<std::vector<std::string>> Convert(const YAML::Node& n) { return ConvertVec<std::string>(n); }

template <typename T>
std::string TypeName() {
  if constexpr (std::is_same_v<T, bool>) return "true or false";
  else if constexpr (std::is_integral_v<T>) return "an integer";
  else if constexpr (std::is_floating_point_v<T>) return "a number";
  else if constexpr (std::is_same_v<T, std::string>) return "a string";
  else return "a list";
}

}  // namespace

ConfigNode::ConfigNode() : state_(std::make_shared<State>()), node_(std::make_shared<Impl>()) {}

Result<ConfigNode> ConfigNode::Parse(const std::string& text, const std::string& source) {
  ConfigNode c;
  c.state_->source = source;
  try {
    c.state_->root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  if (!c.state_->root.IsMap())
    return InvalidArgument(source + ": expected a YAML map of scenario keys at the top level");
  c.node_->node = c.state_->root;
  return c;
}

Result<ConfigNode> ConfigNode::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot open scenario file");
  std::stringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), path);
}

Status ConfigNode::Override(const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    return InvalidArgument("--set " + assignment + ": expected key.path=value");
  std::string key = assignment.substr(0, eq);
  std::string value = assignment.substr(eq + 1);
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("--set " + key + ": malformed value '" + value + "': " + e.msg);
  }
  std::vector<std::string> parts;
  std::stringstream ks(key);
  for (std::string p; std::getline(ks, p, '.');) {
    if (p.empty()) return InvalidArgument("--set " + key + ": empty path component");
    parts.push_back(p);
  }
  // yaml-cpp nodes are handles whose operator= assigns content: rebind with reset().
  YAML::Node cur(state_->root);
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    YAML::Node existing = Lookup(cur, parts[i]);
    if (!existing.IsDefined() || existing.IsNull()) cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    YAML::Node next(cur[parts[i]]);
    if (!next.IsMap()) return InvalidArgument("--set " + key + ": '" + parts[i] + "' is not a map");
    cur.reset(next);
  }
  cur[parts.back()] = parsed;
  state_->overridden.insert(key);
  return Status::Ok();
}

bool ConfigNode::defined() const { return node_->node.IsDefined() && !node_->node.IsNull(); }
bool ConfigNode::is_map() const { return node_->node.IsMap(); }
bool ConfigNode::is_sequence() const { return node_->node.IsSequence(); }
const std::string& ConfigNode::path() const { return path_; }
const std::string& ConfigNode::source() const { return state_->source; }

bool ConfigNode::Has(const std::string& key) const {
  if (!node_->node.IsMap()) return false;
  YAML::Node c = Lookup(node_->node, key);
  return c.IsDefined();
}

ConfigNode ConfigNode::Child(const std::string& key) const {
  state_->queried[path_].insert(key);
  ConfigNode c = *this;
  c.node_ = std::make_shared<Impl>();
  if (node_->node.IsMap()) {
    YAML::Node n = Lookup(node_->node, key);
    if (n.IsDefined()) c.node_->node = n;
  }
  c.path_ = Join(path_, key);
  if (c.defined() && !c.node_->node.IsMap() && !c.node_->node.IsSequence())
    Fail(key, "a map of options");
  return c;
}

std::vector<ConfigNode> ConfigNode::Items(const std::string& key) const {
  state_->queried[path_].insert(key);
  std::vector<ConfigNode> out;
  if (!node_->node.IsMap()) return out;
  YAML::Node n = Lookup(node_->node, key);
  if (!n.IsDefined() || n.IsNull()) return out;
  if (!n.IsSequence()) {
    Fail(key, "a list");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    ConfigNode c = *this;
    c.node_ = std::make_shared<Impl>();
    c.node_->node = n[i];
    c.path_ = Join(path_, key) + "[" + std::to_string(i) + "]";
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> ConfigNode::Keys() const {
  std::vector<std::string> out;
  if (!node_->node.IsMap()) return out;
  for (const auto& kv : node_->node) out.push_back(kv.first.as<std::string>());
  return out;
}

std::string ConfigNode::Where(const std::string& key) const {
  std::string full = key.empty() ? path_ : Join(path_, key);
  for (const auto& o : state_->overridden)
    if (full == o || full.rfind(o + ".", 0) == 0 || o.rfind(full + ".", 0) == 0) return "--set " + full;
  int line = -1;
  if (node_->node.IsMap() && !key.empty()) {
    for (const auto& kv : node_->node)
      if (kv.first.Scalar() == key) line = kv.first.Mark().line;
  }
  if (line < 0 && node_->node.IsDefined()) line = node_->node.Mark().line;
  std::string loc = state_->source;
  if (line >= 0) loc += ":" + std::to_string(line + 1);
  return loc + ": " + (full.empty() ? "<top level>" : full);
}

void ConfigNode::Fail(const std::string& key, const std::string& expectation) const {
  if (!state_->first_error.ok()) return;
  std::string got;
  if (node_->node.IsMap() && !key.empty()) {
    YAML::Node v = Lookup(node_->node, key);
    got = v.IsDefined() ? ", got '" + Scalar(v) + "'" : " (missing)";
  } else if (key.empty() && node_->node.IsDefined()) {
    got = ", got '" + Scalar(node_->node) + "'";
  }
  state_->first_error = InvalidArgument(Where(key) + ": expected " + expectation + got);
}

template <typename T>
T ConfigNode::Get(const std::string& key, T def, std::function<bool(const T&)> valid,
                  const std::string& expect) const {
  state_->queried[path_].insert(key);
  if (!node_->node.IsMap()) return def;
  YAML::Node n = Lookup(node_->node, key);
  if (!n.IsDefined() || n.IsNull()) return def;
  auto v = Convert<T>(n);
  std::string what = expect.empty() ? TypeName<T>() : TypeName<T>() + " " + expect;
  if (!v) {
    Fail(key, what);
    return def;
  }
  if (valid && !valid(*v)) {
    Fail(key, what);
    return def;
  }
  return *v;
}

template <typename T>
T ConfigNode::Require(const std::string& key, std::function<bool(const T&)> valid,
                      const std::string& expect) const {
  if (!Has(key)) {
    state_->queried[path_].insert(key);
    Fail(key, "a value for this required key (" + TypeName<T>() + (expect.empty() ? "" : " " + expect) + ")");
    return T{};
  }
  return Get<T>(key, T{}, valid, expect);
}

template <typename T>
std::optional<T> ConfigNode::As() const {
  if (!node_->node.IsDefined()) return std::nullopt;
  return Convert<T>(node_->node);
}

Status ConfigNode::status() const { return state_->first_error; }

namespace {
void Walk(const YAML::Node& n, const std::string& path, const std::map<std::string, std::set<std::string>>& q,
          const std::string& source, const std::set<std::string>& overridden, Status* err) {
  if (!err->ok()) return;
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) Walk(n[i], path + "[" + std::to_string(i) + "]", q, source, overridden, err);
    return;
  }
  if (!n.IsMap()) return;
  auto it = q.find(path);
  for (const auto& kv : n) {
    std::string key = kv.first.Scalar();
    std::string full = Join(path, key);
    if (it == q.end() || !it->second.count(key)) {
      std::string known;
      if (it != q.end())
        for (const auto& k : it->second) known += (known.empty() ? "" : ", ") + k;
      std::string where = overridden.count(full) ? "--set " + full
                                                 : source + ":" + std::to_string(kv.first.Mark().line + 1) + ": " + full;
      *err = InvalidArgument(where + ": unknown key" + (known.empty() ? "" : " (valid keys here: " + known + ")"));
      return;
    }
    Walk(kv.second, full, q, source, overridden, err);
  }
}
}  // namespace

Status ConfigNode::CheckUnknownKeys() const {
  if (!state_->first_error.ok()) return state_->first_error;
  Status err;
  Walk(node_->node, path_, state_->queried, state_->source, state_->overridden, &err);
  return err;
}

std::string ConfigNode::Dump() const {
  YAML::Emitter out;
  out << node_->node;
  return out.c_str();
}

#define SHOAL_CONFIG_INSTANTIATE(T)                                                                   \
  template T ConfigNode::Get<T>(const std::string&, T, std::function<bool(const T&)>, const std::string&) \
      const;                                                                                          \
  template T ConfigNode::Require<T>(const std::string&, std::function<bool(const T&)>,                 \
                                    const std::string&) const;                                        \
  template std::optional<T> ConfigNode::As<T>() const;
SHOAL_CONFIG_INSTANTIATE(bool)
SHOAL_CONFIG_INSTANTIATE(int)
SHOAL_CONFIG_INSTANTIATE(int64_t)
SHOAL_CONFIG_INSTANTIATE(uint64_t)
SHOAL_CONFIG_INSTANTIATE(double)
SHOAL_CONFIG_INSTANTIATE(std::string)
SHOAL_CONFIG_INSTANTIATE(std::vector<double>)
SHOAL_CONFIG_INSTANTIATE(std::vector<int>)
SHOAL_CONFIG_INSTANTIATE(std::vector<std::string>)
#undef SHOAL_CONFIG_INSTANTIATE

}  // namespace shoal
