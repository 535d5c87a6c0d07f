#!/usr/bin/python3
"""Accuracy versus epsilon for DP-FedAvg: runs a scenario at several noise
multipliers (--set strategy.dp.noise_multiplier=z), reads each run's last
metrics.jsonl row (test_acc, epsilon), prints a table and draws a PNG.

  /usr/bin/python3 scripts/dp_tradeoff.py --sim build/release/sim/shoal-sim \
      --noise 0 0.3 0.5 0.8 1.2 --out runs/dp_tradeoff

z = 0 is clipping without noise (epsilon = inf), drawn as a horizontal line.
Extra --set overrides (e.g. strategy.rounds=30) apply to every run.
"""
import argparse
import json
import math
import os
import subprocess
import sys


def last_row(path):
    row = None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                row = json.loads(line)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sim", default="build/release/sim/shoal-sim")
    ap.add_argument("--scenario", default="scenarios/dp_fedavg_fmnist.yaml")
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.3, 0.5, 0.8, 1.2])
    ap.add_argument("--set", action="append", default=[], help="extra key=value overrides")
    ap.add_argument("--out", default="runs/dp_tradeoff")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--png", default=None, help="plot path (default <out>/accuracy_vs_epsilon.png)")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    results = []
    for z in args.noise:
        out = os.path.join(args.out, f"z{z:g}")
        cmd = [args.sim, "run", args.scenario, "--out", out, "--set", f"strategy.dp.noise_multiplier={z}"]
        for s in args.set:
            cmd += ["--set", s]
        if args.threads > 0:
            cmd += ["--threads", str(args.threads)]
        print("+", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        row = last_row(os.path.join(out, "metrics.jsonl"))
        summary = json.load(open(os.path.join(out, "summary.json")))
        eps = row.get("epsilon")
        eps = math.inf if eps is None or (isinstance(eps, float) and math.isinf(eps)) else float(eps)
        results.append({"noise": z, "epsilon": eps, "test_acc": row.get("test_acc", summary.get("final_test_acc")),
                        "rounds": row.get("round"), "wall_s": summary.get("wall_seconds")})

    print(f"{'noise z':>8} {'epsilon':>10} {'test_acc':>9} {'rounds':>7} {'wall_s':>7}")
    for r in results:
        print(f"{r['noise']:>8g} {r['epsilon']:>10.3f} {r['test_acc']:>9.4f} {r['rounds']:>7} {r['wall_s']:>7.1f}")
    with open(os.path.join(args.out, "tradeoff.json"), "w") as f:
        json.dump(results, f, indent=2, default=str)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    finite = [r for r in results if math.isfinite(r["epsilon"])]
    ax.plot([r["epsilon"] for r in finite], [r["test_acc"] for r in finite], "o-", label="DP-FedAvg")
    for r in finite:
        ax.annotate(f"z={r['noise']:g}", (r["epsilon"], r["test_acc"]), textcoords="offset points", xytext=(4, -10))
    for r in results:
        if not math.isfinite(r["epsilon"]):
            ax.axhline(r["test_acc"], color="gray", ls="--", label=f"no noise (z={r['noise']:g}, eps=inf)")
    ax.set_xscale("log")
    ax.set_xlabel("epsilon (delta = 1e-5, RDP accountant)")
    ax.set_ylabel("final test accuracy")
    ax.set_title(os.path.basename(args.scenario))
    ax.grid(True, alpha=0.3)
    ax.legend()
    png = args.png or os.path.join(args.out, "accuracy_vs_epsilon.png")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"plot written to {png}")


if __name__ == "__main__":
    main()
