// MetricsSink: where per-round records go (console, JSONL, CSV, tests).
//
// A MetricsRow is an ordered list of named values; drivers fill it (they own
// the clocks) and every sink formats it its own way. Sinks are called from the
// driver thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/status.h"

namespace shoal {

using MetricValue = std::variant<int64_t, double, std::string>;

class MetricsRow {
 public:
  MetricsRow& Set(const std::string& key, MetricValue v);  // replaces an existing key
  std::optional<MetricValue> Get(const std::string& key) const;
  std::optional<double> GetNumber(const std::string& key) const;
  const std::vector<std::pair<std::string, MetricValue>>& items() const { return items_; }
  std::string ToJson() const;  // one JSON object, keys in insertion order

 private:
  std::vector<std::pair<std::string, MetricValue>> items_;
};

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  virtual void Record(const MetricsRow& row) = 0;
  virtual Status Close() { return Status::Ok(); }
};

// One JSON object per line, flushed per row so a crashed run keeps its rows.
Result<std::unique_ptr<MetricsSink>> MakeJsonlSink(const std::string& path);
// CSV with the union of all keys as columns, written at Close().
Result<std::unique_ptr<MetricsSink>> MakeCsvSink(const std::string& path);
// One spdlog info line per row: round/total, loss, accuracy, rate and ETA
// (from the row's wall_seconds).
std::unique_ptr<MetricsSink> MakeConsoleSink(int64_t total_rounds);
// Keeps rows in memory (tests, summaries).
class MemorySink final : public MetricsSink {
 public:
  void Record(const MetricsRow& row) override { rows.push_back(row); }
  std::vector<MetricsRow> rows;
};
// Fans out to several sinks.
class MultiSink final : public MetricsSink {
 public:
  void Add(MetricsSink* sink) { sinks_.push_back(sink); }  // must outlive this
  void Record(const MetricsRow& row) override {
    for (auto* s : sinks_) s->Record(row);
  }
  Status Close() override;

 private:
  std::vector<MetricsSink*> sinks_;
};

}  // namespace shoal
