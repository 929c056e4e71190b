"""OTB's robustness protocols: temporal (TRE) and spatial (SRE) robustness evaluation, besides one-pass (OPE).

Definitions follow Wu, Lim and Yang, "Online Object Tracking: A Benchmark" (CVPR 2013), Sec. 4.2, and its
MATLAB toolkit (``tracker_benchmark_v1.0``), whose code is the reference where the paper is brief:

* **TRE** (``util/splitSeqTRE.m``): the frames a run may start from are the frames whose ground truth is valid
  (all four numbers ``> 0``, not NaN, in the benchmark's 1-based file) and that are not in the sequence's
  ``initOmit`` ranges (occlusion / out-of-view frames the toolkit lists per sequence in ``initOmit/<Seq>.txt``;
  its files are not shipped with the shared data, so callers pass ranges with ``omit=``, none by default). Of those
  candidates, the last one that leaves at least ``minNum = 20`` frames to the end closes the range
  (``endSegIdx``). The 20 starts are the candidates at positions
  ``[floor(1 : endSegIdx/(segNum-1) : endSegIdx), endSegIdx]`` (MATLAB, 1-based, ``segNum = 20``): 19 evenly
  spaced positions plus the last one. Each run is initialised with its start frame's ground truth and
  tracks to the end of the sequence; it is scored on the frames from its start to the end.
* **SRE** (``util/shiftInitBB.m``, the shift list of ``main_running.m`` / ``perfPlot.m``): 12 runs from the
  first start frame of TRE (frame 1 unless its box is invalid), each initialised with a perturbed box:
  ``left``/``right``/``up``/``down`` move the box by ``ceil(0.1 * w)`` (``ceil(0.1 * h)``), keeping its size;
  ``topLeft``/``topRight``/``bottomLeft``/``bottomRight`` move *that corner* outwards by ``round(0.1 * w)``,
  ``round(0.1 * h)`` and keep the opposite corner (the box grows by about 10 % in each side);
  ``scale_8``/``scale_9``/``scale_11``/``scale_12`` scale width and height by 0.8/0.9/1.1/1.2 about the
  centre ``(x + w/2, y + h/2)`` and round all four numbers. The box is then clipped to the image
  (``x, y >= 1``, right and bottom edge ``<= W, H``). Every run is scored on the whole sequence against the
  unperturbed ground truth.
* **Pooling** (``util/genPerfMat.m``, ``perfPlot.m``): within a sequence the success (and precision) counts of
  all runs are added and divided by the total number of scored frames of all runs, so TRE runs weigh by
  their length; the sequences' curves are then averaged, unweighted, as in OPE.

Rounding is MATLAB's (half away from zero), the arithmetic is done in the benchmark's 1-based pixels (the
toolkit's), and boxes are converted back to dastsiam's 0-based pixels for the tracker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dastsiam.errors import InputError

PROTOCOLS = ("ope", "sre", "tre")

#: The 12 SRE perturbations, in the toolkit's order (``shiftTypeSet``).
SRE_SHIFTS = (
    "left", "right", "up", "down",
    "topLeft", "topRight", "bottomLeft", "bottomRight",
    "scale_8", "scale_9", "scale_11", "scale_12",
)
_SCALES = {"scale_7": 0.7, "scale_8": 0.8, "scale_9": 0.9, "scale_11": 1.1, "scale_12": 1.2, "scale_13": 1.3}

TRE_SEGMENTS = 20  # segNum
TRE_MIN_LENGTH = 20  # minNum: a run covers at least this many frames

def matlab_round(value):
    """MATLAB's ``round``: halves go away from zero (numpy and Python round them to even)."""
    value = np.asarray(value, dtype=np.float64)
    return np.sign(value) * np.floor(np.abs(value) + 0.5)


def shift_init_box(box, shift: str, image_size: tuple[int, int]) -> np.ndarray:
    """The toolkit's ``shiftInitBB(r, shiftType, imgH, imgW)``: ``box`` is ``x, y, w, h`` in **1-based** pixels
    (an OTB annotation row), ``image_size`` is ``(width, height)``. Returns the perturbed 1-based box."""
    r = np.asarray(box, dtype=np.float64).reshape(4).copy()
    width, height = image_size
    centre = (r[0] + r[2] / 2, r[1] + r[3] / 2)
    br_x = r[0] + r[2] - 1
    br_y = r[1] + r[3] - 1
    if shift in _SCALES:
        ratio = _SCALES[shift]
        w, h = ratio * r[2], ratio * r[3]
        r = matlab_round(np.array([centre[0] - w / 2, centre[1] - h / 2, w, h]))
    elif shift == "left":
        r[0] -= math.ceil(0.1 * r[2])
    elif shift == "right":
        r[0] += math.ceil(0.1 * r[2])
    elif shift == "up":
        r[1] -= math.ceil(0.1 * r[3])
    elif shift == "down":
        r[1] += math.ceil(0.1 * r[3])
    elif shift in ("topLeft", "topRight", "bottomLeft", "bottomRight"):
        if shift in ("topLeft", "bottomLeft"):
            r[0] = matlab_round(r[0] - 0.1 * r[2])
        else:
            br_x = matlab_round(br_x + 0.1 * r[2])
        if shift in ("topLeft", "topRight"):
            r[1] = matlab_round(r[1] - 0.1 * r[3])
        else:
            br_y = matlab_round(br_y + 0.1 * r[3])
        r[2] = br_x - r[0] + 1
        r[3] = br_y - r[1] + 1
    else:
        raise InputError(f"unknown SRE shift {shift!r}; expected one of {', '.join(SRE_SHIFTS)}")
    r[0] = max(r[0], 1.0)
    r[1] = max(r[1], 1.0)
    if r[0] + r[2] - 1 > width:
        r[2] = width - r[0] + 1
    if r[1] + r[3] - 1 > height:
        r[3] = height - r[1] + 1
    return r


def valid_start_frames(ground_truth_native, omit=()) -> np.ndarray:
    """0-based indices of the frames a run may start from: ground truth with all four numbers ``> 0`` (and not
    NaN) in the benchmark's own (1-based) file, outside the 1-based ``omit`` ranges (``initOmit``)."""
    gt = np.asarray(ground_truth_native, dtype=np.float64).reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        ok = np.all(gt > 0, axis=1) & np.all(np.isfinite(gt), axis=1)
    for first, last in omit:
        ok[max(first - 1, 0) : last] = False
    return np.flatnonzero(ok)


def tre_start_frames(ground_truth_native, segments: int = TRE_SEGMENTS, min_length: int = TRE_MIN_LENGTH,
                     omit=()) -> list[int]:
    """The toolkit's TRE start frames (``splitSeqTRE``), 0-based; ``segments`` entries (repeats are possible
    on short sequences, as in the toolkit). A sequence where no valid frame leaves ``min_length`` frames (the
    toolkit stops with an error there) gets a single run from its first valid frame."""
    n = len(ground_truth_native)
    idx = valid_start_frames(ground_truth_native, omit)
    if len(idx) == 0:
        raise InputError("no frame with a valid ground-truth box to start a run from")
    fits = np.flatnonzero(n - idx >= min_length)  # seq.len - Idx(i) + 1 >= minNum, 1-based
    if len(fits) == 0:
        return [int(idx[0])]
    end = int(fits[-1]) + 1  # endSegIdx, 1-based position in idx
    # floor(1 : end/(segments-1) : end): 1 + floor(k * end / (segments-1)) while <= end, in exact integers
    # (MATLAB's colon operator gives the same values: only an integer step can land exactly on an integer)
    positions = []
    k = 0
    while (segments - 1) + k * end <= end * (segments - 1):  # 1 + k*end/(segments-1) <= end
        positions.append(1 + (k * end) // (segments - 1))
        k += 1
    positions.append(end)
    return [int(idx[p - 1]) for p in positions]


@dataclass(frozen=True)
class ProtocolRun:
    """One run of a protocol on one sequence.

    ``run_id`` names it in result files (an SRE shift, ``f00041`` for a TRE start frame, ``ope``); ``start`` is
    the 0-based frame it is initialised on; ``init_box`` the 0-based box it is initialised with. It tracks from
    ``start`` to the last frame and is scored against the ground truth of those frames.
    """

    protocol: str
    run_id: str
    start: int
    init_box: tuple[float, float, float, float]


def tre_run_id(start: int) -> str:
    """``f`` + the 1-based start frame, 5 digits: ``f00001``."""
    return f"f{start + 1:05d}"


def plan_runs(protocol: str, ground_truth, image_size: tuple[int, int] | None = None, omit=()) -> list[ProtocolRun]:
    """The runs of ``protocol`` on one sequence.

    ``ground_truth`` is 0-based (dastsiam's convention, as readers load it, whatever the benchmark's files
    use). The toolkit's validity rule (``> 0``) and box arithmetic apply to 1-based pixels, so the boxes are
    shifted to 1-based pixels for them and back: an OTB file gets exactly the toolkit's numbers, and a 0-based
    benchmark (VOT, custom) the same rule in its pixels.
    ``image_size`` (width, height) is needed for SRE's clipping. TRE may list a start frame more than once
    (short sequences, as the toolkit); such runs are identical and share one result file.
    """
    protocol = protocol.lower()
    gt = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    one_based = gt.copy()
    one_based[:, :2] += 1.0
    if protocol == "ope":
        return [ProtocolRun("ope", "ope", 0, tuple(float(v) for v in gt[0]))]
    starts = tre_start_frames(one_based, omit=omit)
    if protocol == "tre":
        return [ProtocolRun("tre", tre_run_id(s), s, tuple(float(v) for v in gt[s])) for s in starts]
    if protocol == "sre":
        if image_size is None:
            raise InputError("SRE needs the image size to clip the perturbed boxes")
        first = starts[0]
        runs = []
        for shift in SRE_SHIFTS:
            box = shift_init_box(one_based[first], shift, image_size)
            box[:2] -= 1.0
            runs.append(ProtocolRun("sre", shift, first, tuple(float(v) for v in box)))
        return runs
    raise InputError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")


def run_ids(protocol: str, ground_truth, omit=()) -> list[str]:
    """The run ids of ``protocol`` on one sequence, without the image (what scoring needs), in plan order."""
    protocol = protocol.lower()
    if protocol == "sre":
        return list(SRE_SHIFTS)
    return [r.run_id for r in plan_runs(protocol, ground_truth, omit=omit)]
