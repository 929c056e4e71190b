"""Success and precision plots in the style of the benchmark papers (OTB, LaSOT): one curve per tracker,
legend sorted best first with the score in brackets (AUC for success, the value at 20 px for precision)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dastsiam.evaluation.conventions import NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS

_STYLES = ["-", "--", "-.", ":"]

#: One column of a two-column paper (IEEE/CVPR: 3.3-3.5 in): plots are drawn at that size, so their fonts
#: (7 pt, legend 6.5 pt) are the printed size when the figure is placed at column width, not shrunk to 4 pt.
COLUMN_WIDTH_IN = 3.45
FONT_PT = 7.0
LEGEND_PT = 6.5
MAX_INSIDE_LEGEND = 6  # more trackers than this: the legend goes below the axes, in two columns
MAX_LABEL = 16


def _label(name: str, score: float) -> str:
    short = name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "\u2026"
    return f"{short} [{score:.3f}]"


def figure(entries, x, xlabel, ylabel, title, xlim, legend_loc="lower left"):
    """The plot as a matplotlib figure (not saved): ``entries`` = ``(label, score, curve)`` best first in the
    legend, at one-column width; up to :data:`MAX_INSIDE_LEGEND` entries the legend sits inside the axes,
    more go below them in two columns so they never hide the curves."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    entries = sorted(entries, key=lambda e: -np.nan_to_num(e[1], nan=-1))
    below = len(entries) > MAX_INSIDE_LEGEND
    rows = (len(entries) + 1) // 2 if below else 0
    height = 2.7 + rows * 0.14
    with plt.rc_context({"font.size": FONT_PT, "axes.titlesize": FONT_PT + 0.5, "axes.labelsize": FONT_PT,
                         "xtick.labelsize": FONT_PT - 0.5, "ytick.labelsize": FONT_PT - 0.5}):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, height), dpi=300)
        colors = plt.get_cmap("tab10").colors
        for i, (label, score, curve) in enumerate(entries):
            ax.plot(x, curve, color=colors[i % len(colors)], linestyle=_STYLES[(i // len(colors)) % len(_STYLES)],
                    linewidth=1.4 if i else 1.8, label=_label(label, score))
        ax.set_xlim(*xlim)
        ax.set_ylim(0, 1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, linestyle=":", linewidth=0.6)
        if below:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=LEGEND_PT, frameon=False,
                      handlelength=2.0, columnspacing=1.0)
        else:
            ax.legend(loc=legend_loc, fontsize=LEGEND_PT, framealpha=0.85, handlelength=2.0)
        fig.tight_layout(pad=0.3)
    return fig


def _plot(entries, x, xlabel, ylabel, title, path: Path, xlim):
    """``entries``: list of (label, score, curve)."""
    import matplotlib.pyplot as plt

    fig = figure(entries, x, xlabel, ylabel, title, xlim, "lower left" if "Success" in ylabel else "lower right")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", pad_inches=0.02)
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
    from dastsiam.datasets.lasot import LASOT_ATTRIBUTE_NAMES
    from dastsiam.datasets.otb import OTB_ATTRIBUTE_NAMES

    names = LASOT_ATTRIBUTE_NAMES if report.dataset == "lasot" else OTB_ATTRIBUTE_NAMES
    written = []
    attrs: list[str] = []
    for tr in report.trackers.values():
        attrs += [a for a in tr.attributes if a not in attrs]
    for attr in attrs:
        # per-attribute curves average the member sequences' curves (OTB's and LaSOT's per-attribute plots)
        entries = [(tr.name, tr.attributes[attr]["success_auc"], tr.attributes[attr]["success_curve"])
                   for tr in report.trackers.values() if attr in tr.attributes]
        if not entries:
            continue
        count = next(tr.attributes[attr]["sequences"] for tr in report.trackers.values() if attr in tr.attributes)
        title = f"Success plots of OPE - {names.get(attr, attr)} ({count})"
        for fmt in formats:
            written.append(_plot(entries, report.conventions.iou_thresholds, "Overlap threshold", "Success rate",
                                 title, out_dir / f"success_{attr}.{fmt}", (0, 1)))
    return written
