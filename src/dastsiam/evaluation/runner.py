"""Run a tracker over a benchmark: one-pass evaluation (OPE), VOT2018's baseline (reset) protocol, and
GOT-10k test-server packing.

A tracker is any object with ``init(frame, box)`` and ``track(frame) -> (box, score)`` where frames are BGR
``uint8`` images read with ``cv2.imread`` and boxes are 0-based ``x, y, w, h``. Parallel runs take a
zero-argument factory instead, so that each worker process builds its own tracker. Results are written one
file per sequence as soon as the sequence finishes (atomically), so an interrupted run loses nothing and a
rerun skips finished sequences (``resume=True``).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import cv2
import numpy as np

from dastsiam.errors import DastsiamError, DastsiamWarning, InputError, OutputError
from dastsiam.evaluation import results as R
from dastsiam.evaluation.vot import (
    FAILURE, INIT, SKIP_AFTER_FAILURE, SKIPPED, VOT_INIT_RULES, ground_truth_regions, region_overlap, vot_init_box,
)
from dastsiam.sequence import Sequence


def read_frame(path) -> np.ndarray:
    """``cv2.imread`` that raises :class:`InputError` naming the file when it is missing or unreadable."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: frame missing or unreadable")
    return image


def _is_tracker(obj) -> bool:
    return not isinstance(obj, type) and hasattr(obj, "init") and hasattr(obj, "track")


def _make_tracker(tracker_or_factory):
    if _is_tracker(tracker_or_factory):
        return tracker_or_factory
    if callable(tracker_or_factory):
        return tracker_or_factory()
    raise TypeError("expected a tracker (init/track methods) or a zero-argument factory that builds one")


def track_sequence(tracker, sequence: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """One pass: initialise on frame 1 with its ground truth, track the rest. Returns 0-based boxes (frame 1
    is the initial box, as in pysot's and got10k's result files) and per-frame seconds."""
    n = len(sequence)
    return _track_frames(tracker, (sequence.frames[i] for i in range(n)), n, sequence.init_box)


def _track_frames(tracker, frames, n: int, init_box) -> tuple[np.ndarray, np.ndarray]:
    """Initialise on the first of ``frames`` (paths or decoded images) with ``init_box``, track the other
    ``n - 1``; the one loop behind OPE and the SRE/TRE runs. Decoding is not timed."""
    boxes = np.zeros((n, 4))
    times = np.zeros(n)
    init_box = np.asarray(init_box, dtype=np.float64)
    for i, frame in enumerate(frames):
        if not isinstance(frame, np.ndarray):
            frame = read_frame(frame)
        start = time.perf_counter()
        if i == 0:
            tracker.init(frame, init_box.copy())
            boxes[0] = init_box
        else:
            box, _score = tracker.track(frame)
            boxes[i] = np.asarray(box, dtype=np.float64).reshape(4)
        times[i] = time.perf_counter() - start
    return boxes, times


def _ope_done(root, tracker_name, sequence: Sequence, layout: str, repetition: int) -> bool:
    if layout == "got10k":
        path = R.got10k_result_path(root, tracker_name, sequence.name, repetition)
    else:
        path = R.otb_result_path(root, tracker_name, sequence.name)
    return _finished(path, len(sequence))


def _finished(path: Path, frames: int) -> bool:
    """Whether the result file at ``path`` is a finished run: one line per frame. dastsiam's own writes are
    atomic, so a short, empty or long file was damaged or copied from elsewhere; it is run again (a warning
    says so) rather than scored later with its gap counted as failures."""
    if not path.is_file():
        return False
    rows = R.count_rows(path)
    if rows == frames:
        return True
    warnings.warn(DastsiamWarning(f"{path}: {rows if rows is not None else 'unreadable,'} lines for {frames} "
                                  f"frames; the sequence is run again"))
    return False


def _run_one(tracker_or_factory, sequence: Sequence, root, tracker_name: str, layout: str, repetitions) -> list[Path]:
    """All pending repetitions of one sequence, in order (GOT-10k's time file gains one column per run)."""
    tracker = _make_tracker(tracker_or_factory)
    written = []
    for repetition in repetitions:
        boxes, times = track_sequence(tracker, sequence)
        if layout == "got10k":
            written.append(R.write_got10k_result(root, tracker_name, sequence.name, boxes, times, repetition))
        else:
            written.append(R.write_otb_result(root, tracker_name, sequence.name, boxes, times, dataset=sequence.dataset))
    return written


def run_ope(
    tracker_or_factory,
    sequences: list[Sequence],
    results_root,
    tracker_name: str,
    layout: str = "otb",
    repetitions: int = 1,
    workers: int = 1,
    resume: bool = True,
    progress: bool = False,
) -> list[Path]:
    """One-pass evaluation over ``sequences``; writes ``results_root/<tracker_name>/<Seq>.txt`` (``layout="otb"``,
    also for UAV123 / LaSOT / custom) or the GOT-10k layout (``layout="got10k"``, ``repetitions`` runs).

    ``workers > 1`` runs sequences in parallel processes and needs a picklable zero-argument factory. A
    sequence that fails (unreadable frame, tracker error) does not stop the others; the first error is raised
    at the end, after every other sequence has been written.
    """
    if layout not in ("otb", "got10k"):
        raise InputError(f"OPE result layout must be 'otb' or 'got10k', got {layout!r}")
    if layout == "otb" and repetitions != 1:
        raise InputError("the OTB result layout holds one run per sequence; use layout='got10k' for repetitions")
    jobs = []
    for seq in sequences:
        pending = [r for r in range(1, repetitions + 1)
                   if not (resume and _ope_done(results_root, tracker_name, seq, layout, r))]
        if pending:
            jobs.append((seq, pending))
    return _execute(_run_one, tracker_or_factory, jobs, (results_root, tracker_name, layout), workers, progress)


def track_run(tracker, frames, run) -> tuple[np.ndarray, np.ndarray]:
    """One protocol run (:class:`~.protocols.ProtocolRun`): initialise on frame ``run.start`` with
    ``run.init_box``, track to the last frame. ``frames`` is a sequence of frame paths or decoded images
    (indexable by frame number). Returns 0-based boxes from the start frame on (row 1 = the initial box, as the
    toolkit's results hold it) and per-frame seconds."""
    n = len(frames) - run.start
    return _track_frames(tracker, (frames[run.start + i] for i in range(n)), n, run.init_box)


class _FrameCache:
    """Frames of one sequence decoded once and kept for the runs that follow (SRE runs 12 times over the same
    frames, TRE 20 times over overlapping ones), unless keeping the frames from ``first`` on would take more
    than ``budget`` bytes (a long HD sequence): then every run decodes its frames again."""

    def __init__(self, paths, first: int = 0, budget: int = 1 << 30):
        self.paths = list(paths)
        self.first = first
        self.budget = budget
        self.images: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        image = self.images.get(index)
        if image is None:
            image = read_frame(self.paths[index])
            if index >= self.first and image.nbytes * (len(self.paths) - self.first) <= self.budget:
                self.images[index] = image
        return image

    def size(self, index: int) -> tuple[int, int]:
        image = self[index]
        return image.shape[1], image.shape[0]


def _run_starts(protocol: str, ground_truth, omit=()) -> dict[str, int]:
    """Each run id of ``protocol`` and its 0-based start frame, without the image: SRE's runs all start on
    TRE's first start frame (the perturbed box needs the image size, the start frame does not)."""
    from dastsiam.evaluation.protocols import SRE_SHIFTS, plan_runs, tre_start_frames

    if protocol == "tre":
        return {r.run_id: r.start for r in plan_runs("tre", ground_truth, omit=omit)}
    first = int(tre_start_frames(np.asarray(ground_truth, dtype=np.float64) + np.array([1.0, 1.0, 0.0, 0.0]),
                                 omit=omit)[0])
    return {shift: first for shift in SRE_SHIFTS}


def _pending_runs(sequence: Sequence, protocol: str, root, tracker_name: str, resume: bool, omit) -> list[str]:
    """Run ids still to do; with ``resume`` a run is done only when its file holds one line per frame from its
    start frame to the end (:func:`_finished`, the same check as OPE's)."""
    starts = _run_starts(protocol, sequence.ground_truth, omit=tuple(omit.get(sequence.name, ())))
    if not resume:
        return list(starts)
    frames = len(sequence)
    return [r for r, start in starts.items()
            if not _finished(R.protocol_result_path(root, tracker_name, protocol, sequence.name, r), frames - start)]


def _run_protocol_one(tracker_or_factory, sequence: Sequence, root, tracker_name: str, protocol: str,
                      omit: dict, run_ids_pending) -> list[Path]:
    """The pending runs of one sequence, each written as soon as it is finished."""
    from dastsiam.evaluation.protocols import plan_runs

    tracker = _make_tracker(tracker_or_factory)
    gt = sequence.ground_truth
    omit = tuple(omit.get(sequence.name, ()))
    frames = _FrameCache(sequence.frames)
    image_size = None
    if protocol == "sre":
        from dastsiam.evaluation.protocols import tre_start_frames

        first_start = tre_start_frames(gt + np.array([1.0, 1.0, 0.0, 0.0]), omit=omit)[0]
        image_size = frames.size(first_start)
    runs = {r.run_id: r for r in plan_runs(protocol, gt, image_size, omit=omit)}
    todo = [runs[i] for i in run_ids_pending]
    frames.first = min(r.start for r in todo) if todo else len(frames)
    written = []
    for run in todo:
        boxes, times = track_run(tracker, frames, run)
        written.append(R.write_protocol_result(root, tracker_name, protocol, sequence.name, run.run_id, boxes,
                                               times, dataset=sequence.dataset))
    return written


def run_protocol(
    tracker_or_factory,
    sequences: list[Sequence],
    results_root,
    tracker_name: str,
    protocol: str,
    workers: int = 1,
    resume: bool = True,
    progress: bool = False,
    omit: dict | None = None,
) -> list[Path]:
    """OTB's SRE (12 perturbed first boxes) or TRE (20 start frames) over ``sequences``
    (:mod:`~.protocols`); writes one file per run, ``results_root/<tracker_name>/<sre|tre>/<Seq>/<Seq>_<run>.txt``,
    as soon as the run finishes. ``resume`` skips finished runs (a file with one line per frame from the run's
    start frame on; an empty or truncated one is run again with a warning); ``workers`` and failures as in
    :func:`run_ope` (all runs of a sequence go to one worker, which decodes the frames once). ``omit`` maps a
    sequence name to its 1-based ``initOmit`` ranges (frames TRE must not start from).
    ``protocol="ope"`` is :func:`run_ope`."""
    from dastsiam.evaluation.protocols import PROTOCOLS

    protocol = protocol.lower()
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")
    if protocol == "ope":
        return run_ope(tracker_or_factory, sequences, results_root, tracker_name, workers=workers, resume=resume,
                       progress=progress)
    omit = dict(omit or {})
    jobs = []
    for seq in sequences:
        pending = _pending_runs(seq, protocol, results_root, tracker_name, resume, omit)
        if pending:
            jobs.append((seq, pending))
    return _execute(_run_protocol_one, tracker_or_factory, jobs, (results_root, tracker_name, protocol, omit),
                    workers, progress)


def _execute(work, tracker_or_factory, jobs, extra: tuple, workers: int, progress: bool) -> list[Path]:
    """Run ``work(tracker_or_factory, seq, *extra, reps)`` for every ``(seq, reps)`` job, in ``workers``
    processes; one failing sequence does not stop the others, the first error is raised at the end."""
    written: list[Path] = []
    errors: list[BaseException] = []
    if workers <= 1 or len(jobs) <= 1:
        bar = _progress(len(jobs), progress)
        for seq, reps in jobs:
            try:
                written += work(tracker_or_factory, seq, *extra, reps)
            except (DastsiamError, OSError) as exc:
                errors.append(exc)
            bar.update(1)
        bar.close()
    else:
        if _is_tracker(tracker_or_factory):
            raise TypeError("parallel runs need a zero-argument factory that builds a tracker, not a tracker")
        with ProcessPoolExecutor(max_workers=workers, initializer=_end_with_parent, initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(work, tracker_or_factory, seq, *extra, reps) for seq, reps in jobs]
            bar = _progress(len(futures), progress)
            for future in as_completed(futures):
                try:
                    written += future.result()
                except (DastsiamError, OSError) as exc:
                    errors.append(exc)
                bar.update(1)
            bar.close()
    if errors:
        more = f" (and {len(errors) - 1} more failed sequences)" if len(errors) > 1 else ""
        first = errors[0]
        if not isinstance(first, DastsiamError):  # an OSError from elsewhere: still one line, naming the file
            where = f"{first.filename}: " if getattr(first, "filename", None) else ""
            first = OutputError(f"{where}{first.strerror or first}")
        kept = (f"; {len(written)} finished result file{'s are' if len(written) > 1 else ' is'} kept, run again "
                f"to resume" if written else "")
        raise type(first)(f"{first}{more}{kept}")
    return sorted(written)


def _end_with_parent(parent: int) -> None:
    """Worker-process initialiser: end when the parent ``dastsiam run`` dies, even by SIGKILL, which runs no
    clean-up (orphaned workers finished their sequence, then waited forever on the pool's queue, ~110 MB each).
    Linux: the kernel sends SIGKILL on the parent's death (``PR_SET_PDEATHSIG``); elsewhere a thread polls
    the parent id. Result files are written atomically, so a killed worker leaves no partial one."""
    import signal
    import threading

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG = 1
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="dastsiam-parent-watch", daemon=True).start()


def _progress(total: int, enabled: bool):
    """A progress bar on stderr, drawn only when stderr is a terminal (never into a log file)."""
    from tqdm import tqdm

    terminal = getattr(sys.stderr, "isatty", lambda: False)()
    return tqdm(total=total, disable=not (enabled and terminal), unit="seq")


def vot_init_rule(tracker, rule: str | None = None) -> str:
    """The VOT initialisation rule for ``tracker``: ``rule`` when given, else its ``config.vot_init`` (every
    dastsiam preset: ``"pysot"``), else ``"envelope"`` for a tracker without one (the toolkit's own conversion)."""
    if rule is not None:
        if rule not in VOT_INIT_RULES:
            raise InputError(f"VOT initialisation rule must be one of {', '.join(VOT_INIT_RULES)}, got {rule!r}")
        return rule
    config = getattr(tracker, "config", None) or getattr(getattr(tracker, "tracker", None), "config", None)
    return getattr(config, "vot_init", "envelope")


def run_vot_baseline(
    tracker_or_factory,
    sequence: Sequence,
    skip_after_failure: int = SKIP_AFTER_FAILURE,
    use_bounds: bool = True,
    init_rule: str | None = None,
) -> tuple[list, np.ndarray]:
    """VOT baseline (reset) protocol on one sequence.

    Initialise on frame 1 (line ``1``); a frame whose result does not overlap the ground-truth polygon at all
    (the VOT toolkit's rasterised overlap within the image, :func:`~.vot.raster_overlap`) is a failure (line ``2``); the next ``skip_after_failure - 1`` frames are skipped (lines ``0``) and the
    tracker is re-initialised ``skip_after_failure`` frames after the failure from that frame's ground truth.
    Every (re-)initialisation box comes from the ground-truth region by ``init_rule`` (:func:`vot_init_rule`:
    pysot's area-preserving box for dastsiam trackers, see :func:`~.vot.vot_init_box`).
    Returns the trajectory (flags and 0-based boxes, VOT pixels being used as they are) and per-frame seconds.
    """
    tracker = _make_tracker(tracker_or_factory)
    rule = vot_init_rule(tracker, init_rule)
    polygons = ground_truth_regions(sequence)
    n = len(sequence)
    trajectory: list = []
    times = np.zeros(n)
    next_init = 0
    size = None
    for i, path in enumerate(sequence.frames):
        if i < next_init:
            trajectory.append(SKIPPED)
            continue
        frame = read_frame(path)
        if use_bounds and size is None:
            size = (frame.shape[1], frame.shape[0])
        start = time.perf_counter()
        if i == next_init:
            tracker.init(frame, vot_init_box(polygons[i], rule))
            times[i] = time.perf_counter() - start
            trajectory.append(INIT)
            continue
        box, _score = tracker.track(frame)
        times[i] = time.perf_counter() - start
        box = np.asarray(box, dtype=np.float64).reshape(4)
        if region_overlap(box, polygons[i], size) > 0:
            trajectory.append(box)
        else:
            trajectory.append(FAILURE)
            next_init = i + skip_after_failure
    return trajectory, times


def _run_vot_one(tracker_or_factory, sequence: Sequence, root, tracker_name: str, init_rule, repetitions) -> list[Path]:
    tracker = _make_tracker(tracker_or_factory)
    written = []
    for rep in repetitions:
        trajectory, times = run_vot_baseline(tracker, sequence, init_rule=init_rule)
        written.append(R.write_vot_result(root, tracker_name, sequence.name, trajectory, times, rep))
    return written


def run_vot(
    tracker_or_factory, sequences: list[Sequence], results_root, tracker_name: str, repetitions: int = 1,
    resume: bool = True, workers: int = 1, progress: bool = False, init_rule: str | None = None,
) -> list[Path]:
    """Baseline protocol over ``sequences``; writes ``<root>/<tracker>/baseline/<seq>/<seq>_00r.txt``
    (finished repetitions are skipped with ``resume``; ``workers`` as in :func:`run_ope`; ``init_rule`` as in
    :func:`run_vot_baseline`)."""
    if init_rule is not None:
        vot_init_rule(None, init_rule)  # a bad rule fails before any work
    jobs = []
    for seq in sequences:
        pending = [r for r in range(1, repetitions + 1)
                   if not (resume and _finished(R.vot_result_path(results_root, tracker_name, seq.name, r), len(seq)))]
        if pending:
            jobs.append((seq, pending))
    return _execute(_run_vot_one, tracker_or_factory, jobs, (results_root, tracker_name, init_rule), workers, progress)


def shard(sequences: list, spec: str | None) -> list:
    """The ``K``-th of ``N`` disjoint slices (``spec = "K/N"``, 1-based): every ``N``-th sequence starting at
    the ``K``-th, so the ``N`` shards cover the benchmark once and get similar numbers of sequences and frames."""
    if spec is None:
        return list(sequences)
    try:
        k_text, n_text = spec.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise InputError(f"--shard must be K/N with whole numbers (e.g. 2/8), got {spec!r}") from None
    if n < 1 or not 1 <= k <= n:
        raise InputError(f"--shard {spec}: need 1 <= K <= N")
    return list(sequences)[k - 1 :: n]


def pack_got10k_submission(results_root, tracker_name: str, sequences: list[Sequence] | list[str], zip_path) -> Path:
    """Zip ``<root>/<tracker>/<Seq>/`` folders in the GOT-10k evaluation server's format.

    Every sequence needs ``<Seq>_001.txt`` (``_002``, ``_003`` for the three runs of a non-deterministic
    tracker) and ``<Seq>_time.txt``; the row count must match the sequence when it is known. Problems raise
    :class:`InputError` listing the files at fault, because the server rejects incomplete submissions.
    """
    folder = Path(results_root) / tracker_name
    problems = []
    members: list[tuple[Path, str]] = []
    for seq in sequences:
        name = seq if isinstance(seq, str) else seq.name
        seq_dir = folder / name
        runs = sorted(seq_dir.glob(f"{name}_[0-9][0-9][0-9].txt"))
        time_file = seq_dir / f"{name}_time.txt"
        if not runs:
            problems.append(f"{seq_dir / (name + '_001.txt')}: missing")
            continue
        if not time_file.is_file():
            problems.append(f"{time_file}: missing")
        if not isinstance(seq, str):
            for run in runs:
                rows = len(R.read_boxes(run))
                if rows != len(seq):
                    problems.append(f"{run}: {rows} rows for {len(seq)} frames")
        members += [(p, f"{name}/{p.name}") for p in runs + ([time_file] if time_file.is_file() else [])]
    if problems:
        raise InputError("GOT-10k submission incomplete: " + "; ".join(problems[:10]))
    zip_path = Path(zip_path)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, arcname in members:
            archive.write(path, arcname)
    return zip_path
