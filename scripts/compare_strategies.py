#!/usr/bin/python3
"""Runs one scenario under several strategies on the same device population
and compares them: accuracy against server rounds and against virtual time
(PNG), and a time-to-target-accuracy table.

    /usr/bin/python3 scripts/compare_strategies.py \
        [--scenario scenarios/async_heterogeneous.yaml] [--target 0.75] \
        [--sim build/release/sim/shoal-sim] [--out runs/compare_async] [--threads 2]

Each strategy is the base scenario plus `--set` overrides (VARIANTS below), so
data partition, devices, model and client procedure are identical. Only runs
binaries and reads their metrics.jsonl / summary.json.
"""
import argparse
import json
import os
import subprocess
import sys
import time

# name -> list of --set overrides applied to the base scenario.
VARIANTS = {
    "fedavg": [],  # the scenario as written: sync FedAvg, 10 clients per round
    "async_fedavg": ["strategy.name=async_fedavg", "strategy.rounds=3000", "strategy.weights=identical",
                     "strategy.server_lr=0.05", "eval.every=150"],
    "fedbuff": ["strategy.name=fedbuff", "strategy.rounds=120", "strategy.concurrency=20",
                "strategy.buffer_size=10", "eval.every=6"],
    "fedfix": ["strategy.name=fedfix", "strategy.rounds=40", "strategy.delta_t=10.0", "eval.every=2"],
}


def find_sim(root):
    for cand in ("build/release/sim/shoal-sim", "build/hetero/sim/shoal-sim", "build/sim/shoal-sim"):
        p = os.path.join(root, cand)
        if os.access(p, os.X_OK):
            return p
    sys.exit("shoal-sim not found; build it or pass --sim")


def read_rows(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def time_to_target(rows, target, key):
    for r in rows:
        if "test_acc" in r and r["test_acc"] >= target:
            return r[key]
    return None


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default=os.path.join(root, "scenarios/async_heterogeneous.yaml"))
    ap.add_argument("--sim", default=None)
    ap.add_argument("--out", default=os.path.join(root, "runs/compare_async"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--target", type=float, default=0.75, help="test accuracy for the time-to-target table")
    ap.add_argument("--only", nargs="*", default=None, help="subset of: " + " ".join(VARIANTS))
    ap.add_argument("--no-run", action="store_true", help="only re-plot existing runs")
    args = ap.parse_args()
    sim = args.sim or find_sim(root)
    names = args.only or list(VARIANTS)
    for n in names:
        if n not in VARIANTS:
            sys.exit(f"unknown variant '{n}'; valid: {', '.join(VARIANTS)}")

    runs = {}
    for name in names:
        out = os.path.join(args.out, name)
        if not args.no_run:
            cmd = [sim, "run", args.scenario, "--out", out, "--threads", str(args.threads)]
            for s in VARIANTS[name]:
                cmd += ["--set", s]
            print("$ " + " ".join(cmd), flush=True)
            t0 = time.time()
            res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if res.returncode != 0:
                sys.exit(f"{name} failed:\n{res.stderr}")
            print(f"  {name}: {time.time() - t0:.1f} s wall", flush=True)
        runs[name] = read_rows(os.path.join(out, "metrics.jsonl"))

    print(f"\ntarget test accuracy {args.target:.2f}")
    print(f"{'strategy':<14}{'server steps':>13}{'results':>9}{'final acc':>11}{'best acc':>10}{'virtual s':>11}"
          f"{'steps to target':>17}{'virtual s to target':>21}")
    for name, rows in runs.items():
        evals = [r for r in rows if "test_acc" in r]
        final = evals[-1]["test_acc"] if evals else float("nan")
        best = max((r["test_acc"] for r in evals), default=float("nan"))
        tt = time_to_target(rows, args.target, "virtual_seconds")
        rt = time_to_target(rows, args.target, "round")
        results = sum(int(r.get("clients", 0)) for r in rows)  # client results aggregated (compute spent)
        print(f"{name:<14}{rows[-1]['round']:>13}{results:>9}{final:>11.4f}{best:>10.4f}{rows[-1]['virtual_seconds']:>11.1f}"
              f"{(str(rt) if rt is not None else '-'):>17}{(f'{tt:.1f}' if tt is not None else '-'):>21}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    for key, label, fname in (("round", "server rounds / updates", "accuracy_vs_rounds.png"),
                              ("virtual_seconds", "virtual time (s)", "accuracy_vs_virtual_time.png")):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for name, rows in runs.items():
            pts = [(r[key], r["test_acc"]) for r in rows if "test_acc" in r]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".", label=name)
        ax.axhline(args.target, color="grey", linestyle=":", linewidth=1)
        if key == "round":
            ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("test accuracy")
        ax.set_title(os.path.basename(args.scenario))
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        path = os.path.join(args.out, fname)
        fig.savefig(path, dpi=120)
        print("wrote " + path)


if __name__ == "__main__":
    main()
