"""Plots readable at one-column width, and curves in the JSON that redraw them (issue 11.6)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dastsiam.cli.main import main

pytest.importorskip("matplotlib")
from dastsiam.evaluation.plots import COLUMN_WIDTH_IN, MAX_INSIDE_LEGEND, figure  # noqa: E402


def _entries(n):
    x = np.linspace(0, 1, 21)
    return [(f"Tracker-with-a-long-name-{i}", 0.3 + 0.02 * i, np.clip(1 - x ** (1 + i / 5), 0, 1)) for i in range(n)]


@pytest.mark.parametrize("n", [2, 6, 11])
def test_plot_fits_one_column_with_printed_size_fonts(n):
    fig = figure(_entries(n), np.linspace(0, 1, 21), "Overlap threshold", "Success rate", "Success plots", (0, 1))
    fig.canvas.draw()
    width, height = fig.get_size_inches()
    assert width <= 3.5 and width == COLUMN_WIDTH_IN
    ax = fig.axes[0]
    legend = ax.get_legend()
    texts = legend.get_texts()
    assert len(texts) == n
    assert min(t.get_fontsize() for t in texts) >= 6.0  # points, at the printed size
    assert all(len(t.get_text()) <= 25 for t in texts)  # long names shortened
    renderer = fig.canvas.get_renderer()
    box = legend.get_window_extent(renderer)
    fig_box = fig.bbox
    assert box.x0 >= fig_box.x0 - 1 and box.x1 <= fig_box.x1 + 1  # the legend is not cut off sideways
    if n > MAX_INSIDE_LEGEND:  # many trackers: the legend sits below the axes, never over the curves
        assert box.y1 <= ax.get_window_extent(renderer).y0
    scores = [float(t.get_text().rsplit("[", 1)[1].rstrip("]")) for t in texts]
    assert scores == sorted(scores, reverse=True)  # best first


def test_json_curves_redraw_the_plots(shared_data, tmp_path):
    out = tmp_path / "s.json"
    otb = shared_data / "OTB100"
    assert main(["eval", "--dataset", "otb", "--anno", str(otb / "anno"), "--results", str(otb / "results"),
                 "--trackers", "KCF", "SRDCF", "--json", str(out), "--plots", str(tmp_path / "plots"), "--attributes",
                 "--max-warnings", "0"]) == 0
    scores = json.loads(out.read_text())
    for entry in scores.values():
        success = entry["curves"]["success"]
        assert len(success["thresholds"]) == len(success["values"]) == 21
        assert np.mean(success["values"]) == pytest.approx(entry["success_auc"], abs=1e-6)
        precision = entry["curves"]["precision"]
        assert precision["values"][precision["thresholds"].index(20.0)] == pytest.approx(entry["precision"], abs=1e-6)
        ov = entry["attributes"]["OV"]
        assert np.mean(ov["success_curve"]) == pytest.approx(ov["success_auc"], abs=1e-6)
    assert (tmp_path / "plots" / "success.png").is_file() and (tmp_path / "plots" / "success_OV.png").is_file()


def test_a_tracker_keeps_its_colour_in_every_figure_and_titles_name_the_benchmark(shared_data, tmp_path, monkeypatch):
    """On Biker, Bird1 and Bolt SRDCF beats Struck on success AUC (0.137 vs 0.125) but not on precision at 20 px
    (0.184 vs 0.226): the ranks differ between the figures, the colours must not; titles say OTB / UAV123."""
    import matplotlib.pyplot as plt

    from dastsiam.evaluation import plots

    drawn = []
    real_plot = plots._plot

    def spy(entries, x, xlabel, ylabel, title, path, xlim, styles=None):
        fig = plots.figure(entries, x, xlabel, ylabel, title, xlim, styles=styles)
        drawn.append((title, {line.get_label().split(" [")[0]: line.get_color() for line in fig.axes[0].lines},
                      [e[0] for e in sorted(entries, key=lambda e: -e[1])]))
        plt.close(fig)
        return real_plot(entries, x, xlabel, ylabel, title, path, xlim, styles)

    monkeypatch.setattr(plots, "_plot", spy)
    otb = shared_data / "OTB100"
    trackers = ["KCF", "DSST", "Struck", "SRDCF", "TLD", "CSK"]
    assert main(["eval", "--dataset", "otb", "--anno", str(otb / "anno"), "--results", str(otb / "results"),
                 "--trackers", *trackers, "--sequences", "Biker", "Bird1", "Bolt", "--plots", str(tmp_path / "p"),
                 "--max-warnings", "0"]) == 0
    assert main(["eval", "--dataset", "uav123", "--anno", str(otb / "anno"), "--results", str(otb / "results"),
                 "--trackers", "KCF", "--sequences", "Biker", "--plots", str(tmp_path / "u"), "--max-warnings", "0"]) == 0
    (_, success, success_rank), (_, precision, precision_rank) = drawn[0][:3], drawn[1][:3]
    assert success_rank != precision_rank  # the ranks differ between the two figures ...
    assert success == precision  # ... the colours do not
    assert drawn[0][0] == "Success plots of OPE on OTB" and drawn[1][0] == "Precision plots of OPE on OTB"
    assert drawn[-1][0] == "Precision plots of OPE on UAV123"


def test_vot2018_plots_are_the_ar_plot_and_the_eao_curve(shared_data, tmp_path, capsys, monkeypatch):
    import matplotlib

    from dastsiam.evaluation.plots import vot_robustness

    monkeypatch.setitem(matplotlib.rcParams, "svg.fonttype", "none")  # text as text, so the test can read it

    root = shared_data / "VOT"
    results = tmp_path / "r"
    for rule in ("pysot", "envelope"):
        assert main(["run", "--dataset", "vot2018", "--root", str(root), "--results", str(results), "--name", rule,
                     "--model", "nano", "--vot-init", rule]) == 0
    capsys.readouterr()
    assert main(["eval", "--dataset", "vot2018", "--root", str(root), "--results", str(results),
                 "--plots", str(tmp_path / "plots"), "--plot-format", "png", "svg"]) == 0
    assert "4 plot(s) written" in capsys.readouterr().out
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert names == ["ar.png", "ar.svg", "eao_curve.png", "eao_curve.svg"]
    svg = (tmp_path / "plots" / "eao_curve.svg").read_text()
    assert "Expected overlap curves, baseline, VOT2018" in svg and "pysot [0.72" in svg and "EAO interval 100-356" in svg
    assert "AR plot, baseline, VOT2018" in (tmp_path / "plots" / "ar.svg").read_text()
    assert vot_robustness(0, 196) == 1.0 and vot_robustness(2, 100) == pytest.approx(np.exp(-0.6))
