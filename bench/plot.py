"""Speed-up chart of ``compare_torch.py --json`` results: fastrnn / PyTorch per configuration.

Usage::

    python bench/plot.py results.json [more.json ...] [--labels A B ...] -o speedup.png

Each configuration gets a bar for the training ratio and one for the inference
ratio (fastrnn's samples/s over PyTorch's; above the 1x line fastrnn is
faster), per JSON file when several are given (for instance two checkouts
timed with the same script; ``--labels`` names them, by default the file
names).  Configurations timed with flushed denormals (``--denormal``) are
marked ``*``.  The logarithmic axis keeps 0.5x and 2x equally far from 1x.
"""

import argparse
import json
import pathlib


def ratios(payload):
    """``[(label, train ratio, inference ratio)]`` of one results file, in its order."""
    out = []
    for r in payload["results"]:
        rate = r["samples_per_s"]
        label = r["config"] + ("*" if r.get("flush_denormal") else "")
        out.append((label, rate["fastrnn_train"] / rate["torch_train"],
                    rate["fastrnn_infer"] / rate["torch_infer"]))
    return out


def plot(paths, output, labels=None, title=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs = [json.loads(pathlib.Path(p).read_text()) for p in paths]
    labels = labels or [pathlib.Path(p).stem for p in paths]
    if len(labels) != len(runs):
        raise SystemExit(f"{len(labels)} labels for {len(runs)} files")
    configs = list(dict.fromkeys(c for run in runs for c, _, _ in ratios(run)))
    x = np.arange(len(configs))
    n_bars = 2 * len(runs)
    width = 0.8 / n_bars
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(configs) + 2), 4))
    for i, (run, label) in enumerate(zip(runs, labels)):
        by_config = {c: (t, inf) for c, t, inf in ratios(run)}
        for j, kind in enumerate(("training", "inference")):
            vals = [by_config.get(c, (np.nan, np.nan))[j] for c in configs]
            name = kind if len(runs) == 1 else f"{label}: {kind}"
            ax.bar(x + (2 * i + j - (n_bars - 1) / 2) * width, vals, width, label=name,
                   hatch="//" if j else None, color=f"C{i}", alpha=1.0 if j == 0 else 0.6)
    ax.axhline(1.0, color="black", linewidth=1)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_xticks(x, configs)
    ax.set_ylabel("fastrnn / PyTorch, samples/s")
    env = runs[0].get("environment", {})
    ax.set_title(title or f"fastrnn {env.get('fastrnn', '?')} vs PyTorch {env.get('torch', '?')}"
                 f" ({env.get('cpu', '?')}, {runs[0].get('options', {}).get('threads', '?')} threads)",
                 fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("json", nargs="+", help="files written by compare_torch.py --json")
    parser.add_argument("-o", "--output", default="speedup.png")
    parser.add_argument("--labels", nargs="+", help="one name per JSON file")
    parser.add_argument("--title")
    args = parser.parse_args(argv)
    print(plot(args.json, args.output, args.labels, args.title))


if __name__ == "__main__":
    main()
