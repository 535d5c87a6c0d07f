#!/usr/bin/python3
"""Draws per-client label histograms (stacked bars) and sample counts.
usage: plot_partition.py HIST.json OUT.png   (written by `shoal-sim partition-stats --plot`)"""
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

h = np.array(json.load(open(sys.argv[1]))["histograms"])
clients, classes = h.shape
fig, ax = plt.subplots(figsize=(max(6, min(24, clients * 0.12)), 4))
bottom = np.zeros(clients)
cmap = plt.get_cmap("tab10" if classes <= 10 else "tab20")
for k in range(classes):
    ax.bar(np.arange(clients), h[:, k], bottom=bottom, color=cmap(k % cmap.N), width=1.0, label=str(k))
    bottom += h[:, k]
ax.set_xlabel("client"); ax.set_ylabel("train samples"); ax.set_title("label histogram per client")
if classes <= 20:
    ax.legend(title="label", ncol=2, fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
fig.tight_layout(); fig.savefig(sys.argv[2], dpi=120)
