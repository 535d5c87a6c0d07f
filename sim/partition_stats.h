// Summaries of a federated partition: per-client sample counts and label
// histograms, as text and as a plot.
#pragma once

#include <string>

#include "core/data.h"
#include "core/status.h"

namespace shoal::sim {

// Counts quantiles, label-skew statistics and the first clients' histograms.
std::string FormatPartitionStats(const FederatedData& data);
// Writes the histograms as JSON next to `png_path` and renders them with
// scripts/plot_partition.py (Debian's /usr/bin/python3 + matplotlib).
Status PlotPartition(const FederatedData& data, const std::string& png_path);

}  // namespace shoal::sim
