"""Plots a results JSON written by benchmarks/run.py as tile / reference ratios:
one group of bars per case, one bar per reference (cuBLAS or torch, Triton, SDPA
flash, SDPA cuDNN, torch.add/softmax); a failed case is drawn at 0 and marked.
    python3 benchmarks/plot.py RESULTS.json OUT.png
"""
import json
import sys

COLORS = {"cuBLAS": "tab:blue", "torch addmm+gelu": "tab:cyan", "torch": "tab:gray",
          "torch.compile": "tab:green", "SDPA": "tab:orange",
          "Triton": "tab:purple", "flash": "tab:olive", "cuDNN": "tab:red"}


def ratios(result: dict) -> dict:
    """{reference: tile / reference} of a throughput row (higher is better), or {}."""
    if "vs" in result:  # GEMM and attention rows: one ratio per reference
        return dict(result["vs"])
    found = {}
    for key, name in (("vs_torch", "torch"), ("vs_compile", "torch.compile"),
                      ("vs_cublas", "cuBLAS"), ("vs_cudnn", "cuDNN")):
        if result.get(key) is not None:  # memory-bound rows, earlier result files
            found[name] = result[key]
    return found


def main(path: str, out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    data = json.load(open(path))
    rows = [r for r in data["results"] if ratios(r) or (r.get("kind") in ("gemm", "attention"))]
    references = list(dict.fromkeys(name for r in rows for name in ratios(r)))
    height = 0.8 / max(1, len(references))
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.22 * len(rows) * max(2, len(references))))
    for i, name in enumerate(references):
        ys = [y + (i - (len(references) - 1) / 2) * height for y in range(len(rows))]
        values = [(ratios(r).get(name, 0.0) if r.get("correct") else 0.0) for r in rows]
        bars = ax.barh(ys, values, height=height, label=name,
                       color=COLORS.get(name, f"C{i}"))
        ax.bar_label(bars, labels=[f"{v:.2f}×" if v else "" for v in values], fontsize=6,
                     padding=2)
    names = [r["case"] + ("" if r.get("correct") else "  [FAILED]") for r in rows]
    ax.set_yticks(range(len(rows)), names, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", lw=1, ls="--")
    top = max([v for r in rows for v in ratios(r).values()] + [1.2])
    ax.set_xlim(0, top * 1.15)
    ax.set_xlabel("tile / reference (higher is better; 0 = check failed)")
    ax.legend(fontsize=7, loc="lower right")
    quick = " (--quick)" if data.get("quick") else ""
    ax.set_title(f"{data['device']}, {data['date']}{quick}", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:3])
