#include "core/metrics.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace shoal {

MetricsRow& MetricsRow::Set(const std::string& key, MetricValue v) {
  for (auto& kv : items_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return *this;
    }
  items_.emplace_back(key, std::move(v));
  return *this;
}

std::optional<MetricValue> MetricsRow::Get(const std::string& key) const {
  for (const auto& kv : items_)
    if (kv.first == key) return kv.second;
  return std::nullopt;
}

std::optional<double> MetricsRow::GetNumber(const std::string& key) const {
  auto v = Get(key);
  if (!v) return std::nullopt;
  if (auto* i = std::get_if<int64_t>(&*v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&*v)) return *d;
  return std::nullopt;
}

std::string MetricsRow::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : items_) {
    if (auto* i = std::get_if<int64_t>(&v)) j[k] = *i;
    else if (auto* d = std::get_if<double>(&v)) {
      if (std::isfinite(*d)) j[k] = *d; else j[k] = nullptr;  // JSON has no NaN/Inf
    } else j[k] = std::get<std::string>(v);
  }
  return j.dump();
}

namespace {

class JsonlSink final : public MetricsSink {
 public:
  explicit JsonlSink(std::ofstream out) : out_(std::move(out)) {}
  void Record(const MetricsRow& row) override { out_ << row.ToJson() << '\n' << std::flush; }
  Status Close() override {
    out_.close();
    return Status::Ok();
  }

 private:
  std::ofstream out_;
};

std::string CsvCell(const MetricValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", *d);
    return buf;
  }
  std::string s = std::get<std::string>(v), q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

class CsvSink final : public MetricsSink {
 public:
  explicit CsvSink(std::string path) : path_(std::move(path)) {}
  void Record(const MetricsRow& row) override {
    for (const auto& kv : row.items())
      if (!seen_.count(kv.first)) seen_[kv.first] = columns_.size(), columns_.push_back(kv.first);
    rows_.push_back(row);
  }
  Status Close() override {
    std::ofstream out(path_);
    if (!out) return Unavailable(path_ + ": cannot write CSV metrics");
    for (size_t c = 0; c < columns_.size(); ++c) out << (c ? "," : "") << columns_[c];
    out << '\n';
    for (const auto& r : rows_) {
      for (size_t c = 0; c < columns_.size(); ++c) {
        auto v = r.Get(columns_[c]);
        out << (c ? "," : "") << (v ? CsvCell(*v) : "");
      }
      out << '\n';
    }
    return out ? Status::Ok() : Unavailable(path_ + ": write failed");
  }

 private:
  std::string path_;
  std::vector<std::string> columns_;
  std::map<std::string, size_t> seen_;
  std::vector<MetricsRow> rows_;
};

class ConsoleSink final : public MetricsSink {
 public:
  explicit ConsoleSink(int64_t total) : total_(total) {}
  void Record(const MetricsRow& row) override {
    double round = row.GetNumber("round").value_or(0);
    double wall = row.GetNumber("wall_seconds").value_or(0);
    std::string line = fmt::format("round {:>4}/{}", static_cast<int64_t>(round), total_);
    if (auto l = row.GetNumber("train_loss")) line += fmt::format("  train_loss {:.4f}", *l);
    if (auto a = row.GetNumber("test_acc")) line += fmt::format("  test_acc {:.4f}", *a);
    if (auto l = row.GetNumber("test_loss")) line += fmt::format("  test_loss {:.4f}", *l);
    if (auto a = row.GetNumber("personal_test_acc")) line += fmt::format("  personal_acc {:.4f}", *a);
    if (auto e = row.GetNumber("epsilon")) line += fmt::format("  eps {:.3f}", *e);
    if (round > 0 && wall > 0) {
      double per = wall / round;
      line += fmt::format("  | {:.3f} s/round, ETA {:.1f} s", per, per * (double(total_) - round));
    }
    spdlog::info("{}", line);
  }

 private:
  int64_t total_;
};

}  // namespace

Status MultiSink::Close() {
  Status first;
  for (auto* s : sinks_) {
    Status st = s->Close();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

Result<std::unique_ptr<MetricsSink>> MakeJsonlSink(const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Unavailable(path + ": cannot open metrics file for writing");
  return std::unique_ptr<MetricsSink>(new JsonlSink(std::move(out)));
}

Result<std::unique_ptr<MetricsSink>> MakeCsvSink(const std::string& path) {
  std::ofstream probe(path, std::ios::trunc);
  if (!probe) return Unavailable(path + ": cannot open CSV file for writing");
  return std::unique_ptr<MetricsSink>(new CsvSink(path));
}

std::unique_ptr<MetricsSink> MakeConsoleSink(int64_t total_rounds) {
  return std::make_unique<ConsoleSink>(total_rounds);
}

}  // namespace shoal
