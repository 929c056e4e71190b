"""Training checkpoints: plain tensors and Python values only, so they load with ``weights_only=True``.

Keys: ``model`` (state dict), ``config`` (the resolved :class:`TrainConfig` as a dict; its ``model`` entry is
what :func:`dastsiam.models.registry.load_model` reads), ``optimizer``, ``scaler``, ``epoch`` and
``step_in_epoch`` (where training resumes), ``global_step``, ``rng`` (torch CPU / CUDA generator states as
uint8 tensors), ``history`` (per-step total loss so far) and ``validation`` (best AUC, its step, the patience
count and the AUC history).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import torch

from dastsiam.errors import InputError, OutputError

LAST = "last.pt"
BEST = "best.safetensors"  # best validation AUC (trainer validation hook)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = [s for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(state: dict, path: str | Path) -> None:
    """``torch.save`` to a temporary file, then an atomic rename: a crash never leaves a half-written file.

    A failed write (a full disk) removes the partial temporary file and raises :class:`OutputError`; the
    previous checkpoint at ``path`` is untouched. The file is written through a Python file object, whose
    errors carry the OS reason (``torch.save`` to a path reports a full disk as "unexpected pos")."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:
        # a disk that fills up during the write: Python reports ENOSPC, or (the last write being short) torch's
        # zip writer stops first with "unexpected pos"; the free space, measured before the partial file is
        # removed, tells which
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else None
        if reason is None:
            with contextlib.suppress(OSError):
                disk = os.statvfs(path.parent)
                if disk.f_bavail * disk.f_frsize < (1 << 20):
                    reason = "No space left on device"
        if reason is None:
            if not isinstance(exc, OSError) and "unexpected pos" not in str(exc):
                raise
            reason = " ".join(str(exc).split())[:200]
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        kept = f"; the previous {path.name} is kept" if path.is_file() else ""
        raise OutputError(f"{path}: cannot write the checkpoint ({reason}){kept}") from None


def load_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: checkpoint not found") from None
    except Exception as exc:
        raise InputError(f"{path}: not a readable checkpoint ({exc.__class__.__name__}: {str(exc)[:200]})") from None
    missing = [k for k in ("model", "config", "optimizer", "epoch", "global_step") if k not in state]
    if missing:
        raise InputError(f"{path}: not a dastsiam training checkpoint (missing {', '.join(missing)})")
    return state
