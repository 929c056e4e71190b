"""Benchmark evaluation: runners (OPE, OTB's SRE/TRE, VOT baseline, GOT-10k packing), metrics, reports, plots
and paired comparisons.

Every scoring convention is named in :mod:`dastsiam.evaluation.conventions` and documented in
``docs/evaluation.md``.
"""

from dastsiam.evaluation.compare import compare, paired_bootstrap
from dastsiam.evaluation.conventions import PRESETS, Conventions, preset
from dastsiam.evaluation.metrics import (
    aggregate,
    auc,
    centre_error,
    normalised_centre_error,
    overlap,
    precision_curve,
    score_frames,
    score_sequence,
    success_curve,
)
from dastsiam.evaluation.report import (
    GroundTruth,
    Report,
    format_table,
    ground_truth_from_anno_dir,
    ground_truth_from_sequences,
    score_results,
)
from dastsiam.evaluation.results import Warnings, write_results, write_vot_result
from dastsiam.evaluation.protocols import PROTOCOLS, SRE_SHIFTS, plan_runs, shift_init_box, tre_start_frames
from dastsiam.evaluation.runner import (
    pack_got10k_submission, run_ope, run_protocol, run_vot, run_vot_baseline, shard, track_sequence,
)
from dastsiam.evaluation.vot import expected_average_overlap, polygon_iou, raster_overlap, score_vot

__all__ = [
    "Conventions", "PRESETS", "preset",
    "overlap", "centre_error", "normalised_centre_error", "success_curve", "precision_curve", "auc",
    "score_frames", "score_sequence", "aggregate",
    "GroundTruth", "Report", "score_results", "format_table", "ground_truth_from_anno_dir",
    "ground_truth_from_sequences", "Warnings", "write_results", "write_vot_result",
    "PROTOCOLS", "SRE_SHIFTS", "plan_runs", "shift_init_box", "tre_start_frames", "run_protocol",
    "compare", "paired_bootstrap",
    "run_ope", "run_vot", "run_vot_baseline", "track_sequence", "pack_got10k_submission", "shard",
    "polygon_iou", "raster_overlap", "expected_average_overlap", "score_vot",
]
