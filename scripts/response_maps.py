"""The paper's Fig. 8: classification response maps of two (or more) models on the same search crop.

    python scripts/response_maps.py --dataset otb --root ../shared/data/OTB --sequence Couple --frames 40 80 \\
        --models SiamRPN=siamrpn.safetensors DASTSiam=runs/dastsiam_r50/model.safetensors --out fig8.png

Fig. 8 of the paper: "'Frame' column shows the search region and ground-truth box used to extract the templates.
'SiamRPN' presents the response map resulting from applying the initial template to the search region in
SiamRPN. For 'DASTSiam', use a spatio-temporal fusion encoder module and discriminative augmentation decoder
module to enhance our features of template and search region". So, per model and per requested frame ``k``
(1-based, as the benchmarks count):

* the template memory is the model's own at frame ``k``: ``--history track`` (default) initialises on frame 1's
  ground truth and tracks frames 2 .. k-1 with the model's tracker preset, so a model with ST has fused the
  templates its gate accepted; ``--history first`` keeps frame 1's template only (``f_z = f_i``);
* the search crop is cut around frame ``k``'s ground-truth box (centre and size), with the tracker's context and
  search-region size, the same image region for every model of equal geometry;
* the response map is the classification branch's target probability per cell (softmax of the two classes; with
  anchors, the highest over a cell's anchors; SiamFC: the sigmoid of its response).

Each row of the figure is one frame: the search crop with the ground-truth box, then each model's map drawn
over the crop (peak marked). MODEL is a built-in name or a weights file (``LABEL=MODEL``). Needs matplotlib.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads (2 shared cores)

import numpy as np


@dataclass
class Panel:
    label: str
    frame: int  # 1-based
    crop: np.ndarray  # (I, I, 3) BGR search crop
    box: np.ndarray  # ground truth in crop pixels, x y w h
    response: np.ndarray  # (S, S) target probability
    points: tuple[np.ndarray, np.ndarray]  # crop coordinates of every cell (xs, ys)


def parse_model(spec: str) -> tuple[str, str]:
    label, sep, model = spec.partition("=")
    if not sep:
        return Path(spec).stem if Path(spec).suffix else spec, spec
    return label, model


def response_map(cls: np.ndarray, num_anchors: int) -> np.ndarray:
    """``(S, S)`` target probability from one sample's cls logits (``(2K, S, S)``, ``(2, S, S)`` or ``(1, S, S)``)."""
    from dastsiam.tracking.postprocess import softmax_target

    prob = softmax_target(cls, num_anchors)
    return prob.max(axis=0) if prob.ndim == 3 else prob


def model_panels(label: str, spec: str, frames: list, boxes: np.ndarray, wanted: list[int], history: str,
                 device: str = "cpu") -> list[Panel]:
    """Response maps of one model at each 1-based frame number of ``wanted`` (ascending)."""
    import torch

    from dastsiam.evaluation.runner import read_frame
    from dastsiam.models.registry import load_model
    from dastsiam.tracking.config import tracker_config_for
    from dastsiam.tracking.crop import context_size, get_subwindow
    from dastsiam.tracking.tracker import Tracker

    model, model_cfg = load_model(spec, device)
    tracker = Tracker(model, tracker_config_for(model_cfg), device)
    cfg, geo = tracker.config, model.geometry
    tracker.init(read_frame(frames[0]), boxes[0])
    panels = []
    for k in sorted(wanted):
        if history == "track":
            while tracker.frame_index + 2 < k:  # frame_index is 0-based: track up to frame k-1
                tracker.track(read_frame(frames[tracker.frame_index + 1]))
        image = read_frame(frames[k - 1])
        box = boxes[k - 1]
        center = np.array([box[0] + box[2] / 2.0, box[1] + box[3] / 2.0])
        s_z = context_size(box[2], box[3], cfg.context_amount, truncate_sum=cfg.rounding == "opencv")
        ratio = cfg.search_ratio if cfg.search_ratio is not None else geo.instance_size / geo.exemplar_size
        s_x = s_z * ratio
        crop, _ = get_subwindow(image, center, s_x, geo.instance_size, rounding=cfg.rounding)
        batch = crop[None, ..., ::-1] if cfg.swap_rb else crop[None]
        x = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)).to(device)
        with torch.no_grad():
            out = model.track(x, tracker.f_z)
        scale = geo.instance_size / s_x
        crop_box = np.array([(box[0] - center[0]) * scale + geo.instance_size / 2.0,
                             (box[1] - center[1]) * scale + geo.instance_size / 2.0, box[2] * scale, box[3] * scale])
        cls = out.cls[0].detach().cpu().numpy()
        points = geo.cell_centers()
        if cls.shape[-1] != geo.score_size:  # a model whose map is not the geometry's size: spread it evenly
            coords = np.linspace(0, geo.instance_size, cls.shape[-1] + 2)[1:-1]
            points = tuple(np.meshgrid(coords, coords))
        panels.append(Panel(label, k, crop, crop_box, response_map(cls, geo.num_anchors), points))
    return panels


def draw(rows: list[list[Panel]], out: Path, title: str | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import cv2
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    n_rows, n_cols = len(rows), 1 + len(rows[0])
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.2 * n_cols, 2.3 * n_rows), squeeze=False)
    for r, panels in enumerate(rows):
        first = panels[0]
        ax = axes[r][0]
        ax.imshow(first.crop[..., ::-1])
        x, y, w, h = first.box
        ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="lime", linewidth=1.5))
        ax.set_title(f"Frame {first.frame}", fontsize=9)
        for c, panel in enumerate(panels, start=1):
            ax = axes[r][c]
            size = panel.crop.shape[0]
            grey = cv2.cvtColor(panel.crop, cv2.COLOR_BGR2GRAY)
            ax.imshow(grey, cmap="gray", extent=(0, size, size, 0))
            xs, ys = panel.points
            half = (xs[0, 1] - xs[0, 0]) / 2.0
            extent = (xs[0, 0] - half, xs[0, -1] + half, ys[-1, 0] + half, ys[0, 0] - half)
            ax.imshow(panel.response, cmap="jet", alpha=0.55, extent=extent, vmin=0.0, vmax=1.0,
                      interpolation="bilinear")
            i, j = np.unravel_index(int(np.argmax(panel.response)), panel.response.shape)
            ax.plot([xs[i, j]], [ys[i, j]], marker="+", color="white", markersize=9, mew=2)
            ax.set_xlim(0, size)
            ax.set_ylim(size, 0)
            ax.set_title(f"{panel.label} (max {panel.response.max():.2f})", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:4]))
    parser.add_argument("--dataset", required=True, help="dataset kind (otb, uav123, vot2018, lasot, got10k, custom)")
    parser.add_argument("--root", required=True, type=Path)
    parser.add_argument("--sequence", required=True)
    parser.add_argument("--split")
    parser.add_argument("--frames", type=int, nargs="+", required=True, help="1-based frame numbers (>= 2)")
    parser.add_argument("--models", nargs="+", required=True, metavar="[LABEL=]MODEL")
    parser.add_argument("--history", choices=("track", "first"), default="track")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("fig8.png"))
    args = parser.parse_args(argv)

    from dastsiam.datasets import load_dataset
    from dastsiam.errors import DastsiamError

    try:
        seq = load_dataset(args.dataset, args.root, split=args.split, names=[args.sequence])[0]
        bad = [k for k in args.frames if not 2 <= k <= len(seq) or not np.all(np.isfinite(seq.ground_truth[k - 1]))]
        if bad or not np.all(np.isfinite(seq.ground_truth[0])):
            raise DastsiamError(f"{seq.name}: frames {bad or [1]} have no ground-truth box (1-based; frame 1 gives the "
                                f"template, so 2..{len(seq)})")
        columns = [model_panels(label, spec, seq.frames, seq.ground_truth, args.frames, args.history, args.device)
                   for label, spec in map(parse_model, args.models)]
    except DastsiamError as exc:
        print(f"response_maps: error: {exc}", file=sys.stderr)
        return 2
    rows = [list(row) for row in zip(*columns)]
    draw(rows, args.out, f"{seq.name}: classification response maps")
    print(f"response_maps: wrote {args.out} ({len(rows)} frames x {len(args.models)} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
