"""Success and precision plots in the style of the benchmark papers (OTB, LaSOT): one curve per tracker,
legend sorted best first with the score in brackets (AUC for success, the value at 20 px for precision); for
VOT2018 the accuracy-robustness plot and the expected-overlap curve.

A tracker keeps its colour and line style in every figure of a report (:func:`tracker_styles`: assigned in the
order of the tracker names, not by rank, which differs between figures). Titles name the benchmark
(:data:`DATASET_TITLES`)."""

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
#: matplotlib settings of every figure: text at FONT_PT
_RC = {"font.size": FONT_PT, "axes.titlesize": FONT_PT + 0.5, "axes.labelsize": FONT_PT,
       "xtick.labelsize": FONT_PT - 0.5, "ytick.labelsize": FONT_PT - 0.5}


#: How titles spell each benchmark
DATASET_TITLES = {"otb": "OTB", "uav123": "UAV123", "lasot": "LaSOT", "got10k": "GOT-10k", "vot2018": "VOT2018",
                  "custom": "custom sequences"}


def dataset_title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset.lower(), dataset)


def tracker_styles(names) -> dict:
    """``name -> (colour, line style)``, the same in every figure of a report: names in sorted order take the
    tab10 colours, then the same colours dashed, dash-dotted, dotted."""
    import matplotlib

    colors = matplotlib.colormaps["tab10"].colors
    return {name: (colors[i % len(colors)], _STYLES[(i // len(colors)) % len(_STYLES)])
            for i, name in enumerate(sorted(set(names)))}


def _short(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "\u2026"


def _label(name: str, score: float) -> str:
    return f"{_short(name)} [{score:.3f}]"


def figure(entries, x, xlabel, ylabel, title, xlim, legend_loc="lower left", styles: dict | None = None):
    """The plot as a matplotlib figure (not saved): ``entries`` = ``(label, score, curve)`` best first in the
    legend, at one-column width; up to :data:`MAX_INSIDE_LEGEND` entries the legend sits inside the axes,
    more go below them in two columns so they never hide the curves. ``styles``: label -> (colour, line style)
    (default :func:`tracker_styles` of these labels)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    entries = sorted(entries, key=lambda e: -np.nan_to_num(e[1], nan=-1))
    below = len(entries) > MAX_INSIDE_LEGEND
    rows = (len(entries) + 1) // 2 if below else 0
    height = 2.7 + rows * 0.14
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, height), dpi=300)
        styles = styles or tracker_styles(e[0] for e in entries)
        for i, (label, score, curve) in enumerate(entries):
            color, linestyle = styles[label]
            ax.plot(x, curve, color=color, linestyle=linestyle, linewidth=1.4 if i else 1.8, label=_label(label, score))
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


def _plot(entries, x, xlabel, ylabel, title, path: Path, xlim, styles=None):
    """``entries``: list of (label, score, curve)."""
    fig = figure(entries, x, xlabel, ylabel, title, xlim, "lower left" if "Success" in ylabel else "lower right",
                 styles=styles)
    path.parent.mkdir(parents=True, exist_ok=True)
    return _save(fig, path)


def plot_report(report, out_dir, formats=("png",), title_prefix: str | None = None, attributes: bool = True) -> list[Path]:
    """Write success and precision plots (and per-attribute success plots) of a :class:`~.report.Report`."""
    out_dir = Path(out_dir)
    name = title_prefix or dataset_title(report.dataset)
    styles = tracker_styles(report.trackers)
    written: list[Path] = []
    thresholds = report.conventions.iou_thresholds
    success = [(t.name, t.summary["success_auc"], t.curves["success"]) for t in report.trackers.values()]
    precision = [(t.name, t.summary["precision"], t.curves["precision"]) for t in report.trackers.values()]
    for fmt in formats:
        written.append(_plot(success, thresholds, "Overlap threshold", "Success rate",
                             f"Success plots of OPE on {name}", out_dir / f"success.{fmt}", (0, 1), styles))
        written.append(_plot(precision, PRECISION_THRESHOLDS, "Location error threshold (pixels)", "Precision",
                             f"Precision plots of OPE on {name}", out_dir / f"precision.{fmt}", (0, 50), styles))
        if report.dataset == "lasot":
            norm = [(t.name, t.summary["norm_precision"], t.curves["norm_precision"]) for t in report.trackers.values()]
            written.append(_plot(norm, NORM_PRECISION_THRESHOLDS, "Normalized location error threshold",
                                 "Normalized precision", f"Normalized precision plots of OPE on {name}",
                                 out_dir / f"norm_precision.{fmt}", (0, 0.5), styles))
    if attributes:
        written += _attribute_plots(report, out_dir, formats, name, styles)
    return written


def _attribute_plots(report, out_dir: Path, formats, name: str, styles: dict) -> list[Path]:
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
        title = f"Success plots of OPE on {name} - {names.get(attr, attr)} ({count})"
        for fmt in formats:
            written.append(_plot(entries, report.conventions.iou_thresholds, "Overlap threshold", "Success rate",
                                 title, out_dir / f"success_{attr}.{fmt}", (0, 1), styles))
    return written


# ---------------------------------------------------------------------------------------------------- VOT2018
#: The VOT toolkit's A-R analysis: robustness = exp(-S * failures / frames), S = 30 (vot-toolkit 0.9.0,
#: ``supervised_average_ar``), the probability of tracking S frames without a failure
AR_SENSITIVITY = 30


def vot_robustness(failures: float, frames: int, sensitivity: float = AR_SENSITIVITY) -> float:
    return float(np.exp(-sensitivity * failures / frames)) if frames else float("nan")


def plot_vot(scores: dict, out_dir, formats=("png",), dataset: str = "vot2018", interval=(100, 356)) -> list[Path]:
    """The VOT2018 figures from ``dastsiam eval --dataset vot2018``'s scores (``{tracker: {"accuracy",
    "failures", "frames", "eao", "curves": {"expected_overlap": {"values"}}}}``): ``ar.<fmt>`` (accuracy
    against robustness, :func:`vot_robustness`) and ``eao_curve.<fmt>`` (expected overlap against sequence
    length, the EAO interval shaded, legend best EAO first)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = dataset_title(dataset)
    styles = tracker_styles(scores)
    order = sorted(scores, key=lambda n: -np.nan_to_num(scores[n]["eao"], nan=-1))
    written: list[Path] = []
    for fmt in formats:
        with plt.rc_context(_RC):
            fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.9), dpi=300)
            for name in order:
                s = scores[name]
                color, _ = styles[name]
                ax.scatter([vot_robustness(s["failures"], s["frames"])], [s["accuracy"]], color=color, s=18,
                           label=f"{_short(name)} [A {s['accuracy']:.3f}, F {s['failures']:.1f}]")
            ax.set_xlim(0, 1.02)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel(f"Robustness (S = {AR_SENSITIVITY})")
            ax.set_ylabel("Accuracy")
            ax.set_title(f"AR plot, baseline, {title}")
            ax.grid(True, linestyle=":", linewidth=0.6)
            ax.legend(loc="lower left", fontsize=LEGEND_PT, framealpha=0.85)
            fig.tight_layout(pad=0.3)
            written.append(_save(fig, out_dir / f"ar.{fmt}"))

            fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.7), dpi=300)
            longest = 1
            for i, name in enumerate(order):
                values = np.array([np.nan if v is None else v for v in scores[name]["curves"]["expected_overlap"]["values"]],
                                  dtype=float)
                longest = max(longest, len(values))
                color, linestyle = styles[name]
                ax.plot(np.arange(1, len(values) + 1), values, color=color, linestyle=linestyle,
                        linewidth=1.4 if i else 1.8, label=_label(name, scores[name]["eao"]))
            ax.axvspan(interval[0], interval[1], color="0.9", zorder=0, label=f"EAO interval {interval[0]}-{interval[1]}")
            ax.set_xlim(1, max(longest, interval[1]))
            ax.set_ylim(0, 1)
            ax.set_xlabel("Sequence length (frames)")
            ax.set_ylabel("Expected overlap")
            ax.set_title(f"Expected overlap curves, baseline, {title}")
            ax.grid(True, linestyle=":", linewidth=0.6)
            ax.legend(loc="upper right", fontsize=LEGEND_PT, framealpha=0.85)
            fig.tight_layout(pad=0.3)
            written.append(_save(fig, out_dir / f"eao_curve.{fmt}"))
    return written


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, bbox_inches="tight", pad_inches=0.02)
    plt.close(fig)
    return path
