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

This module is also the one place that builds trackers (the tracker factory): :class:`TrackerSpec` says which
model (built-in name, weights file, training checkpoint or exported folder), back end (``auto``: onnxruntime
for trained weights on the CPU, else PyTorch), device, threads and tracker preset; :func:`check_trained` and
:func:`check_runtime_options` refuse what cannot run; :func:`build_tracker` builds the
:class:`~dastsiam.tracking.Tracker`. :func:`load_tracker`, ``dastsiam track``, ``dastsiam run``, the web app and
the benchmarks all go through them, so a script and the command line track identically. This module imports
neither torch nor OpenCV at import time; :func:`build_tracker` imports what the chosen back end needs.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Sequence, Union

from dastsiam.errors import DastsiamWarning, InputError, ModelError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

    from dastsiam.tracking.tracker import Tracker

__all__ = [
    "load_tracker", "SingleObjectTracker", "DEFAULT_MIN_SCORE",
    "TrackerSpec", "build_tracker", "resolve_backend", "check_trained", "check_runtime_options",
    "load_tracking_model",
]

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


# ---------------------------------------------------------------------------------------------- the factory
@dataclass(frozen=True)
class TrackerSpec:
    """Which tracker to build (what ``dastsiam track --model/--backend/--device/--threads/--preset`` choose).

    Attributes:
        model: a built-in name (``None`` = the default model), a ``.safetensors`` weights file with its config,
            a training checkpoint ``.pt``, or a folder written by ``dastsiam export``.
        backend: ``"auto"``, ``"onnx"`` or ``"torch"`` (:func:`resolve_backend` decides ``auto``).
        device: torch device of the torch back end (the onnx back end always runs on the CPU).
        threads: CPU threads for inference (``None`` = :func:`dastsiam.runtime.inference_threads`).
        preset: tracker preset name (``None`` = the one matching the model's config).
    """

    model: str | None = None
    backend: str = "auto"
    device: str = "cpu"
    threads: int | None = None  # checked by check_runtime_options (a bad value gets a clear error there)
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.model is not None and not isinstance(self.model, str):
            object.__setattr__(self, "model", str(self.model))  # a PathLike
        object.__setattr__(self, "device", str(self.device))

    @property
    def model_name(self) -> str:
        """``model``, or the default built-in model's name."""
        from dastsiam.models.registry import DEFAULT_MODEL

        return self.model or DEFAULT_MODEL

    def resolved(self) -> "TrackerSpec":
        """This spec with ``backend="auto"`` replaced by what :func:`resolve_backend` picks."""
        return dataclasses.replace(self, backend=resolve_backend(self))


def resolve_backend(spec: TrackerSpec) -> str:
    """``auto`` -> onnxruntime for trained weights on the CPU (about 4x faster than eager PyTorch for the
    nano models, see benchmarks/speed.py), PyTorch otherwise (GPUs, untrained built-ins, exported folders)."""
    if spec.backend != "auto":
        return spec.backend
    from dastsiam.models.registry import BUILTIN_MODELS

    name = spec.model_name
    trained = (BUILTIN_MODELS[name].weights is not None) if name in BUILTIN_MODELS else Path(name).is_file()
    if trained and name not in BUILTIN_MODELS:
        import importlib.util

        if importlib.util.find_spec("onnx") is None:
            return "torch"  # exporting the user's weights needs the [export] extra; PyTorch runs them as they are
    return "onnx" if trained and spec.device == "cpu" else "torch"


def check_trained(model: str | None, allow_untrained: bool, option: str = "--allow-untrained") -> None:
    """Refuse a built-in model without trained weights (``siamfc``, ``dastsiam-r50``, ...) unless allowed, and
    then warn: its random weights give boxes that look like a result but mean nothing (issue 11.4).
    ``option`` names the switch that allows it in the caller's terms (the CLI flag, or a keyword argument)."""
    from dastsiam.models.registry import BUILTIN_MODELS

    if model not in BUILTIN_MODELS or BUILTIN_MODELS[model].weights is not None:
        return
    if not allow_untrained:
        raise ModelError(f"--model {model}: has no trained weights (random initialisation, its boxes would mean "
                         f"nothing); train it (dastsiam train) and pass the weights file, or add {option}")
    warnings.warn(f"--model {model} is UNTRAINED (random weights): the boxes are not a tracking result",
                  DastsiamWarning, stacklevel=2)


def check_runtime_options(spec: TrackerSpec) -> None:
    """Validate ``spec.device`` / ``spec.threads`` and apply the thread count to OpenCV (torch's and
    onnxruntime's counts are set where the model is built). Raises :class:`InputError` naming the bad value."""
    threads = spec.threads
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise InputError(f"--threads {threads}: must be a whole number >= 1")
    if spec.device != "cpu":  # the CPU always exists; checking it would import torch for nothing
        _check_device(spec.device)
    if threads:
        import cv2

        cv2.setNumThreads(threads)


def _check_device(name: str) -> None:
    import torch

    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f"--device {name!r}: not a torch device (cpu, cuda, cuda:1, mps, ...)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {name!r}: CUDA is not available on this machine")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"--device {name!r}: MPS is not available on this machine")


def load_tracking_model(spec: TrackerSpec):
    """``(model, tracker_config)`` for ``spec`` (whose back end is resolved, not ``auto``): an exported folder
    or the onnx back end give an :class:`~dastsiam.onnx_backend.OnnxModel` (no torch on that path), the torch
    back end a :class:`~dastsiam.models.SiameseModel` with its BatchNorms folded; the tracker config is
    ``spec.preset`` or the preset matching the model's config."""
    from dastsiam.tracking.config import preset, tracker_config_for

    if "torch" not in sys.modules:
        # passive OpenMP waiting before torch starts (the torch back end, or exporting the user's weights for
        # onnxruntime), as the command line does; too late once torch is in, and values the user exported win
        from dastsiam.runtime import prepare_environment

        prepare_environment()
    name = spec.model_name
    if Path(name).is_dir():  # an exported ONNX folder
        from dastsiam.onnx_backend import OnnxModel

        model = OnnxModel(Path(name), threads=spec.threads)
        cfg = model.config
    elif spec.backend == "onnx":  # shipped export of a built-in, or the export cache: no torch on this path
        from dastsiam.onnx_backend import cached_onnx_model

        model = cached_onnx_model(name, threads=spec.threads)
        cfg = model.config
    else:
        from dastsiam.models.registry import load_model
        from dastsiam.runtime import configure_torch_threads, inference_threads

        configure_torch_threads(spec.threads or inference_threads())
        model, cfg = load_model(name, device=spec.device)
        if hasattr(model, "fuse_for_inference"):
            model.fuse_for_inference()  # same function, faster; this model object is ours and only tracks
    tracker_cfg = preset(spec.preset) if spec.preset else tracker_config_for(cfg)
    return model, tracker_cfg


def build_tracker(spec: TrackerSpec) -> "Tracker":
    """A :class:`~dastsiam.tracking.Tracker` for ``spec`` (``dastsiam run`` builds one per worker process
    through this too: a :class:`TrackerSpec` pickles). Checks nothing: call :func:`check_trained` and
    :func:`check_runtime_options` first where the spec comes from a user."""
    from dastsiam.tracking.tracker import Tracker

    spec = spec.resolved()
    model, tracker_cfg = load_tracking_model(spec)
    return Tracker(model, tracker_cfg, device=spec.device if spec.backend == "torch" else "cpu")


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
    spec = TrackerSpec(model=None if model is None else str(model), backend=backend, device=str(device),
                       threads=threads, preset=preset)
    check_trained(spec.model, allow_untrained, option="allow_untrained=True")
    try:
        check_runtime_options(spec)
        spec = spec.resolved()
        tracker = build_tracker(spec)
    except ModuleNotFoundError as exc:
        reraise_missing(exc)
        raise
    return SingleObjectTracker(tracker, spec.model_name, spec.backend,
                               spec.device if spec.backend == "torch" else "cpu", min_score=min_score)
