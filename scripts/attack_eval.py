#!/usr/bin/python3
"""Sweep one defence parameter of an attack scenario and report attack success.

For every value, runs `shoal-sim attack SCENARIO --set ...` into
OUT/<param>_<value>/, reads its attacks.jsonl, and writes
  OUT/results.csv        one row per (value, attack): mean PSNR/SSIM over images, label accuracy, ...
  OUT/results.md         the same as Markdown, plus a PSNR pivot table (value x attack)
  OUT/psnr_vs_<param>.png  PSNR versus the parameter, one line per attack
  OUT/report.md          tables, the plot and the reconstruction grids of each run

Defences are the clients' real update pipeline (`client.pipeline`, the same
transforms and codecs the simulator and the gRPC transport run): the probe
attacks exactly the update the server decodes. Parameters and the overrides
they become:
  noise_multiplier  client.pipeline=[{name: local_noise, clip_norm: CLIP, noise_multiplier: V}]
                    (client-level Gaussian noise N(0, (V*CLIP)^2) on the clipped update;
                    V = 0 -> [{name: clip, clip_norm: CLIP}]; CLIP from --clip, default 0.1)
  sketch_size       client.pipeline=[{name: sketch, family: FAMILY, rows: V}]
                    (Song et al. 2023 random sketch, R^T R x decoded; 0 = no pipeline;
                    FAMILY from --sketch-family: srht (default) | countsketch | gaussian)
  topk_ratio        client.pipeline=[{name: topk, density: V, error_feedback: false}]
                    (0 or 1 = no pipeline)
  clip              client.pipeline=[{name: clip, clip_norm: V}]
  local_steps       client.max_steps and client.epochs
  batch_size        client.batch_size and data.max_train_samples = batch * data.num_clients
                    (each client holds exactly one batch)
  any.dotted.key    set directly

Examples:
  /usr/bin/python3 scripts/attack_eval.py --scenario scenarios/attack_mlp_b1.yaml \
      --param noise_multiplier --values 0 0.001 0.01 0.1 1 2 --clip 0.1 --out runs/eval_dp
  /usr/bin/python3 scripts/attack_eval.py --scenario scenarios/attack_mlp_b1.yaml \
      --param sketch_size --values 0 40000 10000 5000 1000 --out runs/eval_sketch
Only runs the binary and reads its files; --reuse skips values whose run already exists.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys

import yaml


def overrides(param, value, scenario, args):
    def pipeline(entries):
        return [f"client.pipeline=[{', '.join(entries)}]"]
    if param == "noise_multiplier":
        if float(value) == 0:
            return pipeline([f"{{name: clip, clip_norm: {args.clip}}}"])
        return pipeline([f"{{name: local_noise, clip_norm: {args.clip}, noise_multiplier: {value}}}"])
    if param == "sketch_size":
        if int(value) == 0:
            return pipeline([])
        return pipeline([f"{{name: sketch, family: {args.sketch_family}, rows: {int(value)}}}"])
    if param == "topk_ratio":
        if float(value) in (0.0, 1.0):
            return pipeline([])
        return pipeline([f"{{name: topk, density: {value}, error_feedback: false}}"])
    if param == "clip":
        return pipeline([f"{{name: clip, clip_norm: {value}}}"])
    if param == "local_steps":
        return [f"client.max_steps={int(value)}", f"client.epochs={int(value)}"]
    if param == "batch_size":
        with open(scenario) as f:
            clients = int(yaml.safe_load(f).get("data", {}).get("num_clients", 100))
        return [f"client.batch_size={int(value)}", f"data.max_train_samples={int(value) * clients}"]
    if "." in param:
        return [f"{param}={value}"]
    sys.exit(f"attack_eval.py: unknown --param '{param}'")


def load_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def summarise(records):
    """Per attack: means over images (PSNR, SSIM, fraction above) and over updates (label accuracy)."""
    out = {}
    for r in records:
        a = out.setdefault(r["attack"], {"updates": 0, "images": 0, "psnr": 0.0, "ssim": 0.0,
                                         "label_acc": 0.0, "frac_above": 0.0, "has_images": r["psnr"] is not None,
                                         "lambda": 0.0})
        a["updates"] += 1
        a["label_acc"] += r["label_acc"]
        a["lambda"] += r.get("lambda", 0.0)
        if r["psnr"] is not None:
            n = r["images"]
            a["images"] += n
            a["psnr"] += sum(r["image_psnr"])
            a["ssim"] += r["ssim"] * n
            a["frac_above"] += r["frac_above"] * n
    for a in out.values():
        a["label_acc"] /= a["updates"]
        a["lambda"] /= a["updates"]
        if a["images"]:
            for k in ("psnr", "ssim", "frac_above"):
                a[k] /= a["images"]
        else:
            a["psnr"] = a["ssim"] = a["frac_above"] = float("nan")
    return out


def fmt(v, digits=2):
    return "—" if isinstance(v, float) and math.isnan(v) else f"{v:.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--param", required=True)
    ap.add_argument("--values", nargs="+", required=True)
    ap.add_argument("--set", action="append", default=[], help="extra scenario override (repeatable)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--binary", default=None, help="shoal-sim (default: build/*/sim/shoal-sim)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--reuse", action="store_true", help="skip values whose attacks.jsonl exists")
    ap.add_argument("--clip", type=float, default=0.1, help="clip norm C for --param noise_multiplier (default 0.1)")
    ap.add_argument("--sketch-family", default="srht", choices=["srht", "countsketch", "gaussian"],
                    help="sketch family for --param sketch_size (default srht)")
    args = ap.parse_args()

    name = os.path.splitext(os.path.basename(args.scenario))[0]
    out = args.out or os.path.join("runs", f"eval_{name}_{args.param}")
    os.makedirs(out, exist_ok=True)
    binary = args.binary
    if binary is None:
        for cand in ("build/release/sim/shoal-sim", "build/sim/shoal-sim", "build/attacks/sim/shoal-sim"):
            if os.path.exists(cand):
                binary = cand
                break
    if binary is None or not os.path.exists(binary):
        sys.exit("attack_eval.py: shoal-sim not found; pass --binary")

    rows, runs = [], []
    for v in args.values:
        run_dir = os.path.join(out, f"{args.param}_{v}")
        jl = os.path.join(run_dir, "attacks.jsonl")
        if not (args.reuse and os.path.exists(jl)):
            cmd = [binary, "attack", args.scenario, "--out", run_dir]
            for s in args.set + overrides(args.param, v, args.scenario, args):
                cmd += ["--set", s]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            print("+", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True)
        summ = summarise(load_records(jl))
        runs.append((v, run_dir, summ))
        for attack, a in summ.items():
            rows.append({"param": args.param, "value": v, "attack": attack, "updates": a["updates"],
                         "images": a["images"], "psnr": a["psnr"], "ssim": a["ssim"],
                         "label_acc": a["label_acc"], "frac_above": a["frac_above"], "lambda": a["lambda"]})

    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)

    attacks = list(dict.fromkeys(r["attack"] for r in rows))
    img_attacks = [a for a in attacks if any(r["attack"] == a and r["images"] for r in rows)]
    lines = [f"## {name}: PSNR (dB, mean over images) vs {args.param}", "",
             f"| {args.param} | " + " | ".join(img_attacks) + " | best |",
             "|---|" + "---|" * (len(img_attacks) + 1)]
    for v, _, summ in runs:
        vals = [summ[a]["psnr"] if a in summ else float("nan") for a in img_attacks]
        best = max((x for x in vals if not math.isnan(x)), default=float("nan"))
        lines.append(f"| {v} | " + " | ".join(fmt(x) for x in vals) + f" | {fmt(best)} |")
    lines += ["", "| value | attack | updates | images | PSNR | SSIM | label acc | frac >= thr |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['value']} | {r['attack']} | {r['updates']} | {r['images']} | {fmt(r['psnr'])} | "
                     f"{fmt(r['ssim'], 3)} | {fmt(r['label_acc'], 3)} | {fmt(r['frac_above'], 3)} |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table)

    plot = f"psnr_vs_{args.param}.png"
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        xs = [float(v) for v in args.values]
        fig, ax = plt.subplots(figsize=(6, 4))
        for a in img_attacks:
            ys = [summ[a]["psnr"] if a in summ else float("nan") for _, _, summ in runs]
            ax.plot(xs, ys, marker="o", label=a)
        pos = [x for x in xs if x > 0]
        if pos and max(pos) / min(pos) >= 100:
            if min(xs) > 0:
                ax.set_xscale("log")
            else:  # a zero (no defence) on a log-like axis
                ax.set_xscale("symlog", linthresh=min(pos))
        ax.set_xlabel(args.param)
        ax.set_ylabel("PSNR (dB)")
        ax.set_title(f"{name}: attack PSNR vs {args.param}")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(os.path.join(out, plot), dpi=120)
    except ImportError:
        plot = None

    rep = [f"# Attack evaluation: {name}, sweeping {args.param}", "",
           f"Scenario `{args.scenario}`, overrides {args.set or 'none'}.", "", table]
    if plot:
        rep += [f"![PSNR vs {args.param}]({plot})", ""]
    rep += ["## Reconstructions (top: originals, bottom: reconstructions)", ""]
    for v, run_dir, summ in runs:
        for a in img_attacks:
            grid = os.path.join(run_dir, "grids", f"{a}.png")
            if os.path.exists(grid):
                rep += [f"**{args.param} = {v}, {a}** (PSNR {fmt(summ[a]['psnr'])} dB)", "",
                        f"![{a} {v}]({os.path.relpath(grid, out)})", ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(rep))
    print(table)
    print(f"report: {os.path.join(out, 'report.md')}")


if __name__ == "__main__":
    main()
