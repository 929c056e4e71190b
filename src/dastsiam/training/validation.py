"""Validation during training: track a fixed list of benchmark sequences with the model being trained and score
the one-pass success AUC, so a run can keep its best weights and stop early (``validation.*`` in the config).

The model is copied, put in eval mode on the CPU and run by the library's own :class:`~dastsiam.tracking.Tracker`
(the preset :func:`~dastsiam.tracking.config.tracker_config_for` picks for the model's config, exactly what
``dastsiam track`` / ``dastsiam run`` would use with the exported weights) with one torch thread; the training
model, its mode and the thread count are left as they were. Scores use the benchmark's own conventions
(:func:`dastsiam.evaluation.conventions.preset`), as ``dastsiam eval`` does; VOT sequences are scored one pass
with the OTB rules on their axis-aligned boxes (validation is OPE, not VOT's reset protocol).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from dastsiam.errors import InputError
from dastsiam.sequence import Sequence
from dastsiam.training.config import DataSourceConfig


@dataclass
class ValidationSet:
    """Sequences to validate on, each with the dataset kind its scoring conventions come from."""

    sequences: list[tuple[str, Sequence]]  # (dataset kind, sequence)

    def __len__(self) -> int:
        return len(self.sequences)


@dataclass
class ValidationResult:
    mean_auc: float
    per_sequence: dict[str, float]  # "kind/name" -> success AUC
    frames: int
    seconds: float


def load_validation_set(sources: list[DataSourceConfig], max_frames: int = 0) -> ValidationSet:
    """Read the configured validation datasets (``names`` restricts each to those sequences); fails with an
    :class:`InputError` naming ``validation.data[i]`` when one cannot be read or is empty. ``max_frames`` > 0
    keeps only the first frames of each sequence (a quicker check)."""
    from dastsiam.training.data import read_source

    out = []
    for i, source in enumerate(sources):
        sequences = read_source(source, f"validation.data[{i}]")
        if not sequences:
            raise InputError(f"validation.data[{i}] ({source.kind}) {source.root}: no sequences")
        for seq in sequences:
            if max_frames > 0 and len(seq) > max_frames:
                seq = Sequence(seq.name, list(seq.frames[:max_frames]), seq.ground_truth[:max_frames],
                               absent=np.asarray(seq.absent)[:max_frames])
            out.append((source.kind, seq))
    return ValidationSet(out)


def validate_model(model: torch.nn.Module, model_config, validation: ValidationSet) -> ValidationResult:
    """One-pass success AUC of ``model`` (any device, any mode; left untouched) on every sequence."""
    import time

    from dastsiam.evaluation.metrics import score_sequence
    from dastsiam.evaluation.runner import track_sequence
    from dastsiam.tracking.config import tracker_config_for
    from dastsiam.tracking.tracker import Tracker

    start = time.perf_counter()
    threads = torch.get_num_threads()
    clone = copy.deepcopy(model).to("cpu").eval()
    per_sequence = {}
    frames = 0
    try:
        torch.set_num_threads(1)
        for kind, seq in validation.sequences:
            tracker = Tracker(clone, tracker_config_for(model_config), device="cpu")
            boxes, _ = track_sequence(tracker, seq)
            score = score_sequence(seq.name, boxes, seq.ground_truth, _conventions(kind), absent=seq.absent)
            per_sequence[f"{kind}/{seq.name}"] = float(score.success_auc)
            frames += len(seq)
    finally:
        torch.set_num_threads(threads)
    mean = float(np.mean(list(per_sequence.values()))) if per_sequence else float("nan")
    return ValidationResult(mean, per_sequence, frames, time.perf_counter() - start)


def _conventions(kind: str):
    """The benchmark's OPE scoring conventions; VOT sequences (no OPE preset) are scored one pass with the OTB
    rules on their axis-aligned ground-truth boxes."""
    from dastsiam.evaluation.conventions import Conventions, preset

    try:
        return preset(kind)
    except InputError:
        return Conventions()
