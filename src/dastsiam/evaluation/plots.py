"""Success and precision plots in the style of the benchmark papers (OTB, LaSOT): one curve per tracker,
legend sorted best first with the score in brackets (AUC for success, the value at 20 px for precision)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from dastsiam.evaluation.conventions import NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS

_STYLES = ["-", "--", "-.", ":"]


def _figure():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=120)
    return plt, fig, ax


def _plot(entries, x, xlabel, ylabel, title, path: Path, xlim):
    """``entries``: list of (label, score, curve)."""
    plt, fig, ax = _figure()
    colors = plt.get_cmap("tab10").colors
    entries = sorted(entries, key=lambda e: -np.nan_to_num(e[1], nan=-1))
    for i, (label, score, curve) in enumerate(entries):
        ax.plot(
            x, curve, color=colors[i % len(colors)], linestyle=_STYLES[(i // len(colors)) % len(_STYLES)],
            linewidth=2, label=f"{label} [{score:.3f}]",
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, linestyle=":", linewidth=0.8)
    ax.legend(loc="lower left" if "Success" in ylabel else "lower right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_report(report, out_dir, formats=("png",), title_prefix: str | None = None, attributes: bool = True) -> list[Path]:
    """Write success and precision plots (and per-attribute success plots) of a :class:`~.report.Report`."""
    out_dir = Path(out_dir)
    name = title_prefix or report.dataset.upper()
    written: list[Path] = []
    thresholds = report.conventions.iou_thresholds
    success = [(t.name, t.summary["success_auc"], t.curves["success"]) for t in report.trackers.values()]
    precision = [(t.name, t.summary["precision"], t.curves["precision"]) for t in report.trackers.values()]
    for fmt in formats:
        written.append(_plot(success, thresholds, "Overlap threshold", "Success rate",
                             f"Success plots of OPE on {name}", out_dir / f"success.{fmt}", (0, 1)))
        written.append(_plot(precision, PRECISION_THRESHOLDS, "Location error threshold (pixels)", "Precision",
                             f"Precision plots of OPE on {name}", out_dir / f"precision.{fmt}", (0, 50)))
        if report.dataset == "lasot":
            norm = [(t.name, t.summary["norm_precision"], t.curves["norm_precision"]) for t in report.trackers.values()]
            written.append(_plot(norm, NORM_PRECISION_THRESHOLDS, "Normalized location error threshold",
                                 "Normalized precision", f"Normalized precision plots of OPE on {name}",
                                 out_dir / f"norm_precision.{fmt}", (0, 0.5)))
    if attributes:
        written += _attribute_plots(report, out_dir, formats, name)
    return written


def _attribute_plots(report, out_dir: Path, formats, name: str) -> list[Path]:
    from dastsiam.datasets.otb import OTB_ATTRIBUTE_NAMES
    from dastsiam.evaluation.metrics import aggregate

    written = []
    attrs = []
    for tr in report.trackers.values():
        attrs += [a for a in tr.attributes if a not in attrs]
    for attr in attrs:
        entries = []
        count = 0
        for tr in report.trackers.values():
            if attr not in tr.attributes:
                continue
            chosen = [s for s in tr.sequences.values() if _has_attribute(report, s.name, attr)]
            if not chosen:
                continue
            # per-attribute curves average the member sequences' curves (OTB's per-attribute plots)
            summary = aggregate(chosen, [], replace(report.conventions, average="sequence"))
            count = len(chosen)
            entries.append((tr.name, summary["success_auc"], summary["curves"]["success"]))
        if not entries:
            continue
        title = f"Success plots of OPE - {OTB_ATTRIBUTE_NAMES.get(attr, attr)} ({count})"
        for fmt in formats:
            written.append(_plot(entries, report.conventions.iou_thresholds, "Overlap threshold", "Success rate",
                                 title, out_dir / f"success_{attr}.{fmt}", (0, 1)))
    return written


def _has_attribute(report, sequence: str, attr: str) -> bool:
    flags = getattr(report, "sequence_attributes", {}).get(sequence, {})
    return bool(flags.get(attr, False))
