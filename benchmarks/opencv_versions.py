"""What changes between two OpenCV versions on the tracking path: JPEG decoding, our crop, our boxes, cv2.TrackerNano.

Run it once per OpenCV version (same Python, same torch / onnxruntime / numpy), then compare the two dumps::

    .venv/bin/python benchmarks/opencv_versions.py dump runs/cv50.npz               # OpenCV of the lock (5.0.0.93)
    pip install --no-deps --target runs/cv51 opencv-python-headless==5.1.0.95
    PYTHONPATH=runs/cv51 .venv/bin/python benchmarks/opencv_versions.py dump runs/cv51.npz \
        --frames-from runs/cv50.npz                                                # + our boxes on 5.0's pixels
    .venv/bin/python benchmarks/opencv_versions.py compare runs/cv50.npz runs/cv51.npz

``dump`` records, per OTB sequence in ``shared/data/OTB``: a digest of every decoded frame (``cv2.imread``), the
127/255 crops of our ``get_subwindow`` at fixed windows of frame 0 (so the crop is compared on identical pixels
when the decoders agree), the boxes of our ``nano`` (torch back end, preset ``nano`` and ``opencv-nano``; onnx
back end, preset ``nano``) and of ``cv2.TrackerNano`` (same NanoTrack v2 weights). With ``--frames-from`` it
also tracks with the *other* dump's decoded frames (stored there as raw pixels) to separate decoding from the
rest. ``compare`` prints where the two differ, and the one-pass success AUC of each (OTB's criterion).
docs/tracking.md ("OpenCV versions") holds the result.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEQUENCES = ["Couple", "Crossing", "Football1", "MotorRolling", "Surfer"]


def _read_gt(folder: Path) -> np.ndarray:
    rows = [line for line in (folder / "groundtruth_rect.txt").read_text().splitlines() if line.strip()]
    gt = np.array([[float(v) for v in re.split(r"[,\s]+", row.strip())] for row in rows])
    gt[:, :2] -= 1
    return gt


def _trackers():
    from dastsiam.models import load_model
    from dastsiam.onnx_backend import cached_onnx_model
    from dastsiam.tracking import Tracker, preset

    model, _ = load_model("nano")
    model = model.fuse_for_inference() if hasattr(model, "fuse_for_inference") else model
    onnx = cached_onnx_model("nano", threads=1)
    return {
        "torch-nano": lambda: Tracker(model, preset("nano")),
        "torch-opencv-nano": lambda: Tracker(model, preset("opencv-nano")),
        "onnx-nano": lambda: Tracker(onnx, preset("nano")),
    }


def _run(factory, frames, init) -> np.ndarray:
    tracker = factory()
    tracker.init(frames[0], np.array(init, dtype=np.float64))
    return np.array([init] + [tracker.track(f)[0] for f in frames[1:]], dtype=np.float64)


def _run_peer(frames, init, weights: Path) -> np.ndarray:
    import cv2

    params = cv2.TrackerNano_Params()
    params.backbone = str(weights / "nanotrack_backbone_sim.onnx")
    params.neckhead = str(weights / "nanotrack_head_sim.onnx")
    peer = cv2.TrackerNano_create(params)
    peer.init(frames[0], tuple(int(v) for v in init))
    return np.array([init] + [peer.update(f)[1] for f in frames[1:]], dtype=np.float64)


def dump(out: Path, data: Path, frames_from: Path | None) -> None:
    import cv2
    import torch

    from dastsiam.tracking.crop import get_subwindow

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    other = np.load(frames_from) if frames_from else None
    record: dict[str, np.ndarray] = {"opencv": np.array(cv2.__version__)}
    trackers = _trackers()
    for name in SEQUENCES:
        folder = data / "OTB" / name
        gt = _read_gt(folder)
        files = sorted((folder / "img").glob("*.jpg"))[: len(gt)]
        frames = [cv2.imread(str(f)) for f in files]
        record[f"{name}/digest"] = np.array([hashlib.sha1(f.tobytes()).hexdigest() for f in frames])
        record[f"{name}/pixels"] = np.stack(frames)  # raw pixels, for the other version's --frames-from run
        init = [float(int(v)) for v in gt[0]]
        record[f"{name}/gt"] = gt
        # crops at fixed windows of the first frame (inside, across the border, and larger than the frame)
        h, w = frames[0].shape[:2]
        cx, cy = init[0] + init[2] / 2, init[1] + init[3] / 2
        windows = [(cx, cy, 2 * max(init[2], init[3]), 127), (cx, cy, 4 * max(init[2], init[3]), 255),
                   (3.3, 5.7, 60.2, 127), (w / 2, h / 2, 5 * max(w, h), 255)]
        crops = [get_subwindow(frames[0], np.array([x, y]), size, out_size)[0] for x, y, size, out_size in windows]
        record[f"{name}/crops"] = np.concatenate([c.reshape(-1) for c in crops])
        for label, factory in trackers.items():
            record[f"{name}/{label}"] = _run(factory, frames, init)
            if other is not None:
                theirs = list(other[f"{name}/pixels"])
                record[f"{name}/{label}@other-pixels"] = _run(factory, theirs, init)
        weights = data / "weights" / "nanotrack" / "nanotrackv2"
        record[f"{name}/cv2.TrackerNano"] = _run_peer(frames, init, weights)
        if other is not None:
            record[f"{name}/cv2.TrackerNano@other-pixels"] = _run_peer(list(other[f"{name}/pixels"]), init, weights)
        print(f"{cv2.__version__} {name}: {len(frames)} frames", file=sys.stderr)
    np.savez_compressed(out, **record)


def _auc(boxes: np.ndarray, gt: np.ndarray) -> float:
    from dastsiam.evaluation.metrics import score_sequence

    return score_sequence("", boxes, gt).success_auc  # dastsiam eval's default (OTB) conventions


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from dastsiam.boxes import iou

    return iou(a, b)


def compare(a_path: Path, b_path: Path) -> None:
    a, b = np.load(a_path), np.load(b_path)
    va, vb = str(a["opencv"]), str(b["opencv"])
    print(f"A = OpenCV {va}, B = OpenCV {vb}")
    labels = ["torch-nano", "torch-opencv-nano", "onnx-nano", "cv2.TrackerNano"]
    auc = {(v, label): [] for v in ("A", "B") for label in labels}
    for name in SEQUENCES:
        da, db = a[f"{name}/digest"], b[f"{name}/digest"]
        differing = int(np.sum(da != db))
        pa, pb = a[f"{name}/pixels"].astype(np.int16), b[f"{name}/pixels"].astype(np.int16)
        diff = np.abs(pa - pb)
        print(f"{name}: decoded frames differing {differing}/{len(da)}; pixels differing "
              f"{np.mean(diff > 0) * 100:.2f}%, max |diff| {diff.max()}")
        ca, cb = a[f"{name}/crops"].astype(np.int16), b[f"{name}/crops"].astype(np.int16)
        same_frame0 = da[0] == db[0]
        print(f"  crops of frame 0 ({'same' if same_frame0 else 'different'} decoded pixels): "
              f"{int(np.sum(ca != cb))} of {ca.size} values differ, max |diff| {np.abs(ca - cb).max()}")
        gt = a[f"{name}/gt"]
        for label in labels:
            ba, bb = a[f"{name}/{label}"], b[f"{name}/{label}"]
            n_diff = int(np.sum(np.any(ba != bb, axis=1)))
            first = int(np.argmax(np.any(ba != bb, axis=1))) if n_diff else -1
            line = f"  {label:18s} boxes differing in {n_diff}/{len(ba)} frames (first {first})"
            key = f"{name}/{label}@other-pixels"
            if key in b.files:  # B's code on A's decoded pixels
                bo = b[key]
                m = int(np.sum(np.any(ba != bo, axis=1)))
                line += f"; B on A's pixels differs from A in {m} frames, max |d| {np.abs(ba - bo).max():.3g}"
            auc_a, auc_b = _auc(ba, gt), _auc(bb, gt)
            auc[("A", label)].append(auc_a)
            auc[("B", label)].append(auc_b)
            print(line + f"; AUC A {auc_a:.3f} B {auc_b:.3f}")
        peer = []  # the OpenCV peer test's measure: cv2.TrackerNano vs our opencv-nano, truncated to integers
        for dump_ in (a, b):
            ours = np.trunc(dump_[f"{name}/torch-opencv-nano"][1:])
            peer.append(float(np.mean(_iou(dump_[f"{name}/cv2.TrackerNano"][1:], ours))))
        print(f"  peer mean IoU (cv2.TrackerNano vs opencv-nano): A {peer[0]:.3f} B {peer[1]:.3f}")
    print("mean one-pass success AUC over", len(SEQUENCES), "sequences:")
    for label in labels:
        ma, mb = np.mean(auc[("A", label)]), np.mean(auc[("B", label)])
        print(f"  {label:18s} A {ma:.3f}  B {mb:.3f}  B-A {mb - ma:+.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    d.add_argument("--frames-from", type=Path, default=None)
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.command == "dump":
        dump(args.out, args.data, args.frames_from)
    else:
        compare(args.a, args.b)


if __name__ == "__main__":
    main()
