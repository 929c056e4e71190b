"""Loss and validation curves of fine-tune runs, from their TensorBoard logs, as one PNG.

    python scripts/plot_training.py runs/ft/st_da runs/ft/none ... --out docs/ablation_training.png

Top: training loss (``loss/total``, smoothed over 10 logged points) against the step; middle: the loss terms of
the first run; bottom: the validation mean AUC logged by ``scripts/finetune_validated.py`` (``val/auc``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def scalars(folder: Path, tag: str) -> tuple[list[int], list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    steps, values = [], []
    for events in sorted({p.parent for p in folder.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        if tag in acc.Tags()["scalars"]:
            for e in acc.Scalars(tag):
                steps.append(e.step)
                values.append(e.value)
    order = sorted(range(len(steps)), key=steps.__getitem__)
    return [steps[i] for i in order], [values[i] for i in order]


def smooth(values: list[float], n: int = 10) -> list[float]:
    out = []
    for i in range(len(values)):
        window = values[max(0, i - n + 1): i + 1]
        out.append(sum(window) / len(window))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--labels", nargs="+", help="one label per run (default: folder names)")
    parser.add_argument("--baseline", type=float, help="draw the untrained model's validation AUC")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = args.labels or [r.name for r in args.runs]
    fig, axes = plt.subplots(3, 1, figsize=(8, 10), constrained_layout=True)
    for run, label in zip(args.runs, labels):
        steps, values = scalars(run / "tensorboard", "loss/total")
        if steps:
            axes[0].plot(steps, smooth(values), label=label)
        steps, values = scalars(run / "tensorboard", "val/auc")
        if steps:
            axes[2].plot(steps, values, marker="o", label=label)
    for tag in ("loss/cls1", "loss/cls2", "loss/reg"):
        steps, values = scalars(args.runs[0] / "tensorboard", tag)
        if steps:
            axes[1].plot(steps, smooth(values), label=tag.split("/")[1])
    if args.baseline is not None:
        axes[2].axhline(args.baseline, color="grey", linestyle="--", label="untrained (step 0)")
    axes[0].set_title("training loss (total, smoothed)")
    axes[1].set_title(f"loss terms, {labels[0]}")
    axes[2].set_title("validation: mean success AUC over the 7 validation sequences")
    for ax in axes:
        ax.set_xlabel("step (batch 8)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
