#!/usr/bin/python3
"""Accuracy versus uploaded megabytes for every update compressor on
Fashion-MNIST non-IID (shared/COMPRESSION.md).

Runs shoal-sim on scenarios/fedavg_fmnist.yaml (uncompressed) and on each
compressed scenario (same data, model, clients and rounds; only
client.pipeline differs, except where a row names a server setting),
reads <out>/<run>/metrics.jsonl, prints a markdown table and draws test
accuracy against cumulative uploaded MB (PNG).

The top-k rows use server momentum 0.7 (scenarios/topk_ef_fmnist.yaml
explains why); the row "uncompressed, server momentum 0.7" is FedAvg with
that same server setting, so the effect of compression is read against it
as well as against the default FedAvg. Final accuracy on this non-IID
setup moves by +-1.5 points from seed to seed: --seeds 0 1 2 3 runs every
row per seed and reports the mean and the per-seed values.

  /usr/bin/python3 scripts/compression_tradeoff.py --sim build/release/sim/shoal-sim \
      [--rounds 50] [--seeds 0 1 2 3] [--out runs/compression_tradeoff] [--skip-run] \
      [--only topk_ef_fmnist topk_noef_fmnist ...]
"""
import argparse
import json
import os
import subprocess
import sys

# (run name, scenario file, label, --set overrides)
SCENARIOS = [
    ("fedavg_fmnist", "fedavg_fmnist", "uncompressed (f32)", []),
    ("fedavg_fmnist_m07", "fedavg_fmnist", "uncompressed, server momentum 0.7", ["strategy.server_momentum=0.7"]),
    ("topk_ef_fmnist", "topk_ef_fmnist", "top-k 1% + step-ahead EF, server momentum 0.7", []),
    ("topk_ef_plain_fmnist", "topk_ef_fmnist", "top-k 1% + plain EF, server momentum 0.7",
     ["client.pipeline=[{name: topk, density: 0.01, error_feedback: true, step_ahead: 0}]"]),
    ("topk_noef_fmnist", "topk_noef_fmnist", "top-k 1%, no EF, server momentum 0.7", []),
    ("topk_ef_fmnist_m0", "topk_ef_fmnist", "top-k 1% + step-ahead EF, no server momentum", ["strategy.server_momentum=0"]),
    ("topk_noef_fmnist_m0", "topk_noef_fmnist", "top-k 1%, no EF, no server momentum", ["strategy.server_momentum=0"]),
    ("topk_ef_warmup_fmnist", "topk_ef_warmup_fmnist", "top-k + EF, warm-up 25%->1% over 5 rounds, momentum 0.7", []),
    ("topk_noef_warmup_fmnist", "topk_noef_warmup_fmnist", "top-k, no EF, warm-up 25%->1% over 5 rounds, momentum 0.7", []),
    ("randk_ef_fmnist", "randk_ef_fmnist", "rand-k 1% + EF", []),
    ("sketch_fmnist", "sketch_fmnist", "SRHT sketch d'/32", []),
    ("sketch_countsketch_fmnist", "sketch_countsketch_fmnist", "count sketch d/32", []),
    ("qsgd_fmnist", "qsgd_fmnist", "QSGD s=7", []),
    ("terngrad_fmnist", "terngrad_fmnist", "TernGrad", []),
    ("sign_ef_fmnist", "sign_ef_fmnist", "scaled sign + EF", []),
    ("int8_fmnist", "int8_fmnist", "int8 block-wise", []),
    ("powersgd_fmnist", "powersgd_fmnist", "PowerSGD r=2 + EF", []),
    ("fetchsgd_fmnist", "fetchsgd_fmnist", "FetchSGD 5x10000, k=1%", []),
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
    ap.add_argument("--only", nargs="*", default=None, help="run names to include (first column of SCENARIOS)")
    ap.add_argument("--seeds", nargs="*", type=int, default=None,
                    help="run every row with these seeds (--set seed=N) and report the mean; default: the scenario's seed")
    args = ap.parse_args()

    chosen = [e for e in SCENARIOS if args.only is None or e[0] in args.only]
    seeds = args.seeds if args.seeds else [None]
    os.makedirs(args.out, exist_ok=True)
    results = []  # (name, label, [(seed, rows, evals)])
    for name, scenario, label, sets in chosen:
        per_seed = []
        for seed in seeds:
            run_dir = os.path.join(args.out, name if seed is None else "%s_seed%d" % (name, seed))
            if not args.skip_run:
                cmd = [args.sim, "run", os.path.join(root, "scenarios", scenario + ".yaml"), "--out", run_dir]
                overrides = list(sets)
                if args.rounds:
                    overrides.append("strategy.rounds=%d" % args.rounds)
                if seed is not None:
                    overrides.append("seed=%d" % seed)
                for o in overrides:
                    cmd += ["--set", o]
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
            if evals:
                per_seed.append((seed, rows, evals))
        if per_seed:
            results.append((name, label, per_seed))

    def mean(xs):
        return sum(xs) / len(xs)

    base = next((r for r in results if r[0] == "fedavg_fmnist"), None)
    base_up = mean([rows[-1]["bytes_up_total"] for _, rows, _ in base[2]]) if base else None
    base_final = mean([ev[-1][1] for _, _, ev in base[2]]) if base else None
    print("| method | run | rounds | seeds | uploaded MB | compression | final test acc (mean) | vs uncompressed | "
          "best test acc (mean) | final per seed |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, label, per_seed in results:
        up = mean([rows[-1]["bytes_up_total"] for _, rows, _ in per_seed])
        ratio = "%.1fx" % (base_up / up) if base_up else "-"
        finals = [ev[-1][1] for _, _, ev in per_seed]
        bests = [max(a for _, a in ev) for _, _, ev in per_seed]
        gap = "%+.2f pt" % (100 * (mean(finals) - base_final)) if base_final is not None else "-"
        print("| %s | %s | %d | %s | %.2f | %s | %.4f | %s | %.4f | %s |" % (
            label, name, per_seed[0][1][-1]["round"], ",".join(str(s) if s is not None else "-" for s, _, _ in per_seed),
            up / 1e6, ratio, mean(finals), gap, mean(bests), " ".join("%.4f" % f for f in finals)))

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available (apt install python3-matplotlib); no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, label, per_seed in results:
        evals = per_seed[0][2]  # the first seed's curve
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
