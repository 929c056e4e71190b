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
