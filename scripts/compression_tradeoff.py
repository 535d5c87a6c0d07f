#!/usr/bin/python3
"""Accuracy versus uploaded megabytes for every update compressor on
Fashion-MNIST non-IID (shared/COMPRESSION.md).

Runs shoal-sim on scenarios/fedavg_fmnist.yaml (uncompressed) and on each
compressed scenario (same data, model, clients and rounds; only
client.pipeline differs), reads runs/<name>/metrics.jsonl, prints a markdown
table and draws test accuracy against cumulative uploaded MB (PNG).

  /usr/bin/python3 scripts/compression_tradeoff.py --sim build/release/sim/shoal-sim \
      [--rounds 50] [--out runs/compression_tradeoff] [--skip-run] [--only topk_ef_fmnist ...]
"""
import argparse
import json
import os
import subprocess
import sys

SCENARIOS = [
    ("fedavg_fmnist", "uncompressed (f32)"),
    ("topk_ef_fmnist", "top-k 1% + EF"),
    ("topk_noef_fmnist", "top-k 1%, no EF"),
    ("randk_ef_fmnist", "rand-k 1% + EF"),
    ("sketch_fmnist", "SRHT sketch d'/32"),
    ("sketch_countsketch_fmnist", "count sketch d/32"),
    ("qsgd_fmnist", "QSGD s=7"),
    ("terngrad_fmnist", "TernGrad"),
    ("sign_ef_fmnist", "scaled sign + EF"),
    ("int8_fmnist", "int8 block-wise"),
    ("powersgd_fmnist", "PowerSGD r=2 + EF"),
    ("fetchsgd_fmnist", "FetchSGD 5x10000, k=1%"),
]


def read_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default=os.path.join(root, "build/release/sim/shoal-sim"))
    ap.add_argument("--out", default=os.path.join(root, "runs/compression_tradeoff"))
    ap.add_argument("--rounds", type=int, default=0, help="override strategy.rounds (0 = scenario's)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--skip-run", action="store_true", help="only read existing metrics")
    ap.add_argument("--only", nargs="*", default=None, help="scenario names to include")
    args = ap.parse_args()

    chosen = [(n, l) for n, l in SCENARIOS if args.only is None or n in args.only]
    os.makedirs(args.out, exist_ok=True)
    results = []
    for name, label in chosen:
        run_dir = os.path.join(args.out, name)
        if not args.skip_run:
            cmd = [args.sim, "run", os.path.join(root, "scenarios", name + ".yaml"), "--out", run_dir]
            if args.rounds:
                cmd += ["--set", "strategy.rounds=%d" % args.rounds]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            print("+", " ".join(cmd), file=sys.stderr, flush=True)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        metrics = os.path.join(run_dir, "metrics.jsonl")
        if not os.path.exists(metrics):
            print("missing %s; skipped" % metrics, file=sys.stderr)
            continue
        rows = read_rows(metrics)
        evals = [(r["bytes_up_total"] / 1e6, r["test_acc"]) for r in rows if "test_acc" in r]
        results.append((name, label, rows, evals))

    base = next((r for r in results if r[0] == "fedavg_fmnist"), None)
    base_up = base[2][-1]["bytes_up_total"] if base else None
    print("| method | scenario | rounds | uploaded MB | compression | final test acc | best test acc |")
    print("|---|---|---|---|---|---|---|")
    for name, label, rows, evals in results:
        up = rows[-1]["bytes_up_total"]
        ratio = "%.1fx" % (base_up / up) if base_up else "-"
        final = evals[-1][1] if evals else float("nan")
        best = max(a for _, a in evals) if evals else float("nan")
        print("| %s | %s | %d | %.2f | %s | %.4f | %.4f |" % (label, name, rows[-1]["round"], up / 1e6, ratio, final, best))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available (apt install python3-matplotlib); no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, label, rows, evals in results:
        if evals:
            ax.plot([m for m, _ in evals], [a for _, a in evals], marker="o", ms=3, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("cumulative uploaded MB (log scale)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Fashion-MNIST, Dirichlet(0.5) over 100 clients, 10 per round")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    png = os.path.join(args.out, "accuracy_vs_upload.png")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print("plot: %s" % png, file=sys.stderr)


if __name__ == "__main__":
    main()
