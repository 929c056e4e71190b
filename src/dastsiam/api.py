"""The public Python API: ``tracker = dastsiam.load_tracker("nano")``.

::

    import cv2
    import dastsiam

    tracker = dastsiam.load_tracker("nano")       # built-in name, .safetensors file or training checkpoint
    video = cv2.VideoCapture("assets/bag.mp4")
    ok, frame = video.read()
    tracker.init(frame, (312.6, 146.9, 105.1, 95.4))  # x, y, w, h in 0-based pixels
    while (frame := video.read()[1]) is not None:
        ok, box = tracker.update(frame)              # OpenCV style; tracker.track(frame) -> (box, score)

The model, back end (``auto``: onnxruntime for trained weights on the CPU, else PyTorch), device, threads and
tracker preset are chosen by the very function ``dastsiam track`` uses (:func:`dastsiam.cli.track.build_tracker`),
so a script and the command line track identically. This module imports neither torch nor OpenCV at import
time; :func:`load_tracker` imports what the chosen back end needs.
"""

from __future__ import annotations

from argparse import Namespace
from os import PathLike
from typing import TYPE_CHECKING, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from dastsiam.tracking.tracker import Tracker

__all__ = ["load_tracker", "SingleObjectTracker", "DEFAULT_MIN_SCORE"]

BoxLike = Union[Sequence[float], "np.ndarray"]

# `update()` reports ok=False when the tracker's confidence in its box falls below this (see docs/tracking.md)
DEFAULT_MIN_SCORE = 0.2


class SingleObjectTracker:
    """One tracked object: :meth:`init` on the first frame, then :meth:`update` (OpenCV style) or
    :meth:`track` (box and score) on each following frame.

    Frames are ``uint8`` numpy arrays, BGR as OpenCV reads them (grayscale and BGRA are converted).
    Boxes are ``x, y, w, h`` floats in 0-based pixels. Build one with :func:`load_tracker`.

    Attributes:
        model: the model name or path it was loaded from.
        backend: ``"onnx"`` or ``"torch"`` (what ``auto`` resolved to).
        device: the device the network runs on (``"cpu"`` for the onnx back end).
        min_score: :meth:`update` returns ``ok=False`` when the score is below this.
        tracker: the underlying :class:`dastsiam.tracking.Tracker` (its ``last`` attribute holds the details
            of the last frame: score-map cell, whether the template memory was updated).
    """

    def __init__(self, tracker: "Tracker", model: str, backend: str, device: str,
                 min_score: float = DEFAULT_MIN_SCORE):
        self.tracker = tracker
        self.model = model
        self.backend = backend
        self.device = device
        self.min_score = float(min_score)
        self._started = False

    def init(self, frame: "np.ndarray", box: BoxLike) -> None:
        """Start tracking the target inside ``box`` (``x, y, w, h``, 0-based pixels) of ``frame``.

        Raises :class:`dastsiam.errors.InputError` for a box with a non-positive or non-finite size, a box
        lying entirely outside the frame, or a frame that is not an 8-bit image array. Calling it again
        restarts tracking (a new target, or the same one after a loss).
        """
        self.tracker.init(frame, box)
        self._started = True

    def track(self, frame: "np.ndarray") -> "tuple[np.ndarray, float]":
        """The target's box in ``frame`` (``np.ndarray`` ``x, y, w, h``) and the tracker's confidence in it
        (0..1; the update-gate confidence (paper Sec. 2.3 "Inference", Sec. 3.1) for models with a confidence
        branch, else the classification score at the chosen cell)."""
        if not self._started:
            raise RuntimeError("SingleObjectTracker.track() called before init(frame, box)")
        return self.tracker.track(frame)

    def update(self, frame: "np.ndarray") -> "tuple[bool, tuple[float, float, float, float]]":
        """OpenCV's tracker protocol: ``ok, (x, y, w, h) = tracker.update(frame)``.

        ``ok`` is ``score >= min_score`` (and never true for a box that is not finite); the box is returned either
        way (the tracker's best guess; it keeps the target's last size and searches around its last position).
        Boxes are floats, not OpenCV's ints.
        """
        import math

        box, score = self.track(frame)
        box = tuple(float(v) for v in box)
        return bool(score >= self.min_score) and all(math.isfinite(v) for v in box), box

    @property
    def score(self) -> float:
        """Confidence of the last :meth:`track` / :meth:`update` (1.0 right after :meth:`init`)."""
        last = self.tracker.last
        return float(last.score) if last is not None else 0.0

    def __repr__(self) -> str:
        return f"SingleObjectTracker(model={self.model!r}, backend={self.backend!r}, device={self.device!r})"


def load_tracker(model: "str | PathLike[str] | None" = None, *, backend: str = "auto", device: str = "cpu",
                 threads: int | None = None, preset: str | None = None,
                 min_score: float = DEFAULT_MIN_SCORE, allow_untrained: bool = False) -> SingleObjectTracker:
    """A ready tracker for ``model``, chosen exactly as ``dastsiam track --model MODEL`` chooses it.

    Args:
        model: a built-in name (``dastsiam models`` lists them; ``None`` = the default, ``"nano"``), a
            ``.safetensors`` weights file with its config (as ``dastsiam train`` writes them), a training
            checkpoint ``.pt``, or a folder written by ``dastsiam export``.
        backend: ``"auto"`` (onnxruntime for trained weights on the CPU, PyTorch otherwise), ``"onnx"``
            (exported once and cached, see ``DASTSIAM_CACHE``) or ``"torch"``.
        device: torch device for the torch back end (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
        threads: CPU threads for inference (``None`` = the library default).
        preset: tracker hyper-parameter preset (``nano``, ``siamrpn``, ``siamfc``; default: the model's).
        min_score: the score below which :meth:`SingleObjectTracker.update` reports ``ok=False``.
        allow_untrained: load a built-in model that has no trained weights (``siamfc``, ``dastsiam-r50``)
            anyway, with a :class:`dastsiam.errors.DastsiamWarning`; without it such a model is a ModelError.

    Raises:
        dastsiam.errors.ModelError: unknown name, unloadable weights, or an untrained built-in model.
        dastsiam.errors.InputError: bad device or thread count.
        ImportError: OpenCV, or PyTorch for a path that needs it (``backend="torch"``, a weights file), is not
            installed (the message names the extra to install).
    """
    if backend not in ("auto", "torch", "onnx"):  # "tensorrt" ran eager PyTorch while .backend said "tensorrt"
        from dastsiam.errors import InputError

        raise InputError(f"backend {backend!r}: must be one of 'auto', 'torch', 'onnx'")
    from dastsiam._deps import reraise_missing, require_opencv

    require_opencv()  # the one optional dependency every tracking path needs: say which extra provides it
    from dastsiam.cli import track as cli_track

    args = Namespace(model=None if model is None else str(model), backend=backend, device=str(device),
                     threads=threads, preset=preset)
    cli_track.check_trained(args.model, allow_untrained, option="allow_untrained=True")
    try:
        cli_track.check_runtime_options(args)
        tracker = cli_track.build_tracker(args)
    except ModuleNotFoundError as exc:
        reraise_missing(exc)
        raise
    name = args.model
    if name is None:
        from dastsiam.models.registry import DEFAULT_MODEL

        name = DEFAULT_MODEL
    return SingleObjectTracker(tracker, name, args.backend, str(args.device) if args.backend == "torch" else "cpu",
                               min_score=min_score)
