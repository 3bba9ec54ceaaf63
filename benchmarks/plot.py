"""Plots a results JSON written by benchmarks/run.py as tile / reference ratios.
    python3 benchmarks/plot.py RESULTS.json OUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(path: str, out: str) -> None:
    data = json.load(open(path))
    # Throughput cases, against their own reference (torch.add, cuBLAS, ...).
    results = [r for r in data["results"]
               if "vs_torch" in r or "vs_cublas" in r or "vs_cudnn" in r]
    names = [r["case"] for r in results]
    ratios = [(r.get("vs_torch") or r.get("vs_cublas") or r.get("vs_cudnn") or 0.0)
              if r["correct"] else 0.0 for r in results]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.5 * len(results)))
    bars = ax.barh(names, ratios, color=["tab:green" if r >= 1 else "tab:orange" for r in ratios])
    ax.axvline(1.0, color="black", lw=1, ls="--")
    ax.bar_label(bars, fmt="%.3f×")
    ax.set_xlabel("tile / reference: torch, cuBLAS, SDPA cuDNN (higher is better; 0 = check failed)")
    ax.set_xlim(0, max(1.2, max(ratios) * 1.15))
    ax.set_title(f"{data['device']}, {data['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    main(*sys.argv[1:3])
