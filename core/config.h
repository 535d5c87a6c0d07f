// ConfigNode: strict, located access to a YAML scenario.
//
// Components read their options through a ConfigNode; every read marks the key
// as known, and CheckUnknownKeys() (called once after everything was read)
// reports any key that nobody read. Errors carry "file:line: key.path:
// expected X, got 'Y'". Reads never throw: the first error is recorded in the
// shared state and the getter returns the default, so option parsing stays
// linear; call status() (or CheckUnknownKeys) to see it.
//
// Overrides from the command line ("--set a.b=value") edit the tree before
// reading and are reported as coming from "--set a.b". Copies of a node share
// state with the root. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace shoal {

class ConfigNode {
 public:
  ConfigNode();  // an empty, undefined root
  static Result<ConfigNode> LoadFile(const std::string& path);
  static Result<ConfigNode> Parse(const std::string& yaml_text, const std::string& source_name);

  // Applies "key.path=value" (value parsed as YAML). Creates missing maps.
  Status Override(const std::string& assignment);

  bool defined() const;     // the node exists
  bool is_map() const;
  bool is_sequence() const;
  bool Has(const std::string& key) const;  // REQUIRES: map or undefined
  // Child map/list. A missing key yields an undefined node (Get returns defaults).
  ConfigNode Child(const std::string& key) const;
  // Elements of a sequence child (empty when missing; error when not a list).
  std::vector<ConfigNode> Items(const std::string& key) const;
  // Keys of this map, in file order.
  std::vector<std::string> Keys() const;
  const std::string& path() const;  // "a.b" ("" for root)

  // Typed reads: a missing key gives `def`; a wrong type or a value failing
  // `valid` records an error "expected <expect>" and returns `def`.
  template <typename T>
  T Get(const std::string& key, T def, std::function<bool(const T&)> valid = nullptr,
        const std::string& expect = "") const;
  // As Get, but a missing key is an error.
  template <typename T>
  T Require(const std::string& key, std::function<bool(const T&)> valid = nullptr,
            const std::string& expect = "") const;
  // This node's own scalar value (for list items).
  template <typename T>
  std::optional<T> As() const;

  // Records an error about `key` of this node (first error wins).
  void Fail(const std::string& key, const std::string& expectation) const;
  // Where `key` of this node came from: "file:line: a.b.key" or "--set a.b.key".
  std::string Where(const std::string& key) const;
  // The first recorded error, if any.
  Status status() const;
  // Reports keys present in the tree that no one read (then status()).
  Status CheckUnknownKeys() const;
  // The whole tree as YAML text (for the resolved config written with results).
  std::string Dump() const;
  const std::string& source() const;

 private:
  struct Impl;
  struct State;
  std::shared_ptr<State> state_;
  std::shared_ptr<Impl> node_;
  std::string path_;
};

}  // namespace shoal
