"""Optional dependencies: which extra installs each, and the one-line message when one is missing.

The package's core is numpy, onnxruntime, safetensors, PyYAML and tqdm: enough to track on the CPU with the
shipped ONNX exports. PyTorch is the ``torch`` extra (the torch back end, GPUs, training, export, a user's own
weights; ``train`` and ``export`` imply it), so that a CPU install does not pull a multi-GB CUDA build of torch.
OpenCV is left to the user's choice of wheel (``opencv-python`` with windows, or ``opencv-python-headless``),
TensorBoard, matplotlib and onnx come with the ``train``, ``eval`` and ``export`` extras (pyproject.toml,
docs/usage.md).
"""

from __future__ import annotations

__all__ = ["EXTRAS", "MissingDependency", "missing_dependency", "require_opencv", "reraise_missing"]

# top-level module -> (what it is, how to get it)
EXTRAS = {
    "torch": ("PyTorch", "pip install 'dastsiam[torch]' (or your own torch build; the CPU back end "
                         "--backend onnx with a built-in model needs no torch)"),
    "cv2": ("OpenCV", "pip install 'dastsiam[headless]' (or 'dastsiam[gui]' for the --select/--show windows, "
                      "or keep the opencv-python you have)"),
    "matplotlib": ("matplotlib (plots)", "pip install 'dastsiam[eval]'"),
    "tensorboard": ("TensorBoard (training logs)", "pip install 'dastsiam[train]', or set runtime.tensorboard: false"),
    "onnx": ("onnx (ONNX export)", "pip install 'dastsiam[export]'"),
    "trax": ("the TraX library (dastsiam vot)", "pip install 'dastsiam[vot]'"),
}


def missing_dependency(exc: BaseException) -> str | None:
    """The user-facing line for a ``ModuleNotFoundError`` of an optional dependency, else ``None``."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".")[0]
    if top == "torch" and "tensorboard" in exc.name:
        top = "tensorboard"
    if top not in EXTRAS:
        return None
    what, how = EXTRAS[top]
    return f"{what} is not installed (module {exc.name!r}): {how}"


class MissingDependency(ImportError):
    """An optional dependency is missing; the message says which extra installs it."""


def require_opencv() -> None:
    """Raise :class:`MissingDependency` with the install hint when ``cv2`` cannot be imported."""
    try:
        import cv2  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MissingDependency(missing_dependency(exc) or str(exc)) from None


def reraise_missing(exc: BaseException) -> None:
    """Re-raise a ``ModuleNotFoundError`` of an optional dependency as :class:`MissingDependency` (its message
    names the extra); anything else is left to the caller. For API entry points, whose users see the message."""
    message = missing_dependency(exc)
    if message is not None:
        raise MissingDependency(message) from None
