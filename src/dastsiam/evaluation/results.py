"""Result files: reading (tolerant, with warnings naming file and line) and writing, in the layouts that
pysot and the got10k toolkit use.

* OTB / UAV123 / LaSOT / custom: ``ROOT/<Tracker>/<Seq>.txt``, one comma-separated ``x,y,w,h`` row per frame
  in the **benchmark's own pixel convention**: dastsiam works 0-based, so the writer adds 1 to ``x`` and
  ``y`` for the 1-based benchmarks (OTB, UAV123, LaSOT, GOT-10k) and the file can be compared directly with
  the benchmark's annotation files and with published results. Per-frame times go to
  ``ROOT/<Tracker>/times/<Seq>_time.txt`` (seconds, one per line).
* GOT-10k: ``ROOT/<Tracker>/<Seq>/<Seq>_001.txt`` (repetitions ``_002``, ``_003``) and ``<Seq>_time.txt``.
* OTB's SRE / TRE runs: ``ROOT/<Tracker>/sre|tre/<Seq>/<Seq>_<run>.txt`` (:func:`protocol_result_path`).
* VOT (baseline / reset protocol): ``ROOT/<Tracker>/baseline/<seq>/<seq>_001.txt`` where a line ``1`` marks an
  (re-)initialisation, ``2`` a failure, ``0`` a skipped frame, and other lines are ``x,y,w,h`` boxes.
"""

from __future__ import annotations

import io
import re
import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dastsiam.errors import InputError
from dastsiam.files import write_atomically

ONE_BASED_DATASETS = frozenset({"otb", "uav123", "lasot", "got10k"})
_DELIMITERS = str.maketrans({",": " ", "\t": " ", ";": " "})


@dataclass
class Warnings:
    """Problems found while scoring; collected so one bad file never stops the rest."""

    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        self.messages.append(message)

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self):
        return iter(self.messages)


def native_offset(dataset: str) -> float:
    """What to add to dastsiam's 0-based boxes to get the benchmark's own convention (1 or 0)."""
    return 1.0 if dataset in ONE_BASED_DATASETS else 0.0


def parse_box_text(text: str, path: Path, columns: int = 4, warnings: Warnings | None = None) -> np.ndarray:
    """Parse rows of ``columns`` numbers (commas, tabs or spaces). Rows that cannot be used become NaN and,
    with ``warnings`` given, are reported with file and line; without it they raise :class:`InputError`."""
    normalised = text.translate(_DELIMITERS)
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            values = np.loadtxt(io.StringIO(normalised), dtype=np.float64, ndmin=2)
        if values.size == 0:
            return np.zeros((0, columns))
        if values.shape[1] == columns:
            return values
    except ValueError:
        pass
    rows = []
    for number, line in enumerate(normalised.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        problem = None
        if len(tokens) != columns:
            problem = f"expected {columns} numbers, got {len(tokens)}"
        else:
            try:
                rows.append([float(t) for t in tokens])
                continue
            except ValueError:
                problem = f"not a number in {line.strip()!r}"
        if warnings is None:
            raise InputError(f"{path}:{number}: {problem}")
        warnings.add(f"{path}:{number}: {problem}; row treated as missing")
        rows.append([np.nan] * columns)
    return np.array(rows, dtype=np.float64).reshape(-1, columns)


def read_boxes(path: Path, warnings: Warnings | None = None, columns: int = 4) -> np.ndarray | None:
    """Read an ``x,y,w,h`` text file. With ``warnings``: an unreadable file gives a warning and ``None``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        if warnings is None:
            raise InputError(f"{path}: cannot read ({exc.__class__.__name__}: {exc})") from None
        warnings.add(f"{path}: cannot read ({exc.__class__.__name__}); sequence skipped")
        return None
    return parse_box_text(text, path, columns, warnings)


def check_result_boxes(boxes: np.ndarray, path: Path, warnings: Warnings, show: int = 3) -> None:
    """Warn (file:line) about NaN, infinite, or non-positive-size boxes (they are scored by convention)."""
    bad = ~(np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0))
    if bad.any():
        lines = np.flatnonzero(bad)[:show] + 1
        more = f" and {int(bad.sum()) - len(lines)} more" if bad.sum() > len(lines) else ""
        warnings.add(
            f"{path}:{','.join(str(n) for n in lines)}{more}: NaN or non-positive box "
            f"({int(bad.sum())} rows); scored by the invalid-result convention"
        )


def format_rows(boxes: np.ndarray) -> str:
    return "".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in np.asarray(boxes, dtype=np.float64))


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a ``.part`` file and a rename, creating the folder; a failed write (a
    full disk) removes the partial file and raises :class:`OutputError` naming ``path`` (what was written before
    stays)."""
    write_atomically(path, text, temp_suffix=".part", make_parents=True)


def count_rows(path: Path) -> int | None:
    """Non-blank lines of a result file (``None`` when it cannot be read): what resuming checks a finished
    sequence by."""
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return None


def otb_result_path(root: Path, tracker: str, sequence: str) -> Path:
    return Path(root) / tracker / f"{sequence}.txt"


def write_otb_result(root, tracker: str, sequence: str, boxes, times=None, dataset: str = "otb") -> Path:
    """Write 0-based ``boxes`` as the benchmark's native convention (``+1`` for 1-based datasets)."""
    native = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    native[:, :2] += native_offset(dataset)
    path = otb_result_path(root, tracker, sequence)
    if times is not None:
        _atomic_write(Path(root) / tracker / "times" / f"{sequence}_time.txt", "".join(f"{t:.6f}\n" for t in times))
    _atomic_write(path, format_rows(native))  # written last: its presence marks the sequence finished
    return path


def protocol_result_path(root: Path, tracker: str, protocol: str, sequence: str, run_id: str) -> Path:
    """SRE / TRE run files: ``ROOT/<Tracker>/<protocol>/<Seq>/<Seq>_<run_id>.txt`` (``run_id`` = an SRE shift
    name such as ``left`` or ``scale_8``, or ``f`` + the 1-based TRE start frame such as ``f00041``)."""
    return Path(root) / tracker / protocol.lower() / sequence / f"{sequence}_{run_id}.txt"


def write_protocol_result(root, tracker: str, protocol: str, sequence: str, run_id: str, boxes, times=None,
                          dataset: str = "otb") -> Path:
    """One SRE/TRE run: 0-based ``boxes`` from the run's start frame to the last frame (row 1 = the box the run
    was initialised with), written in the benchmark's own convention like OPE files; times beside it as
    ``<Seq>_<run_id>_time.txt``. The box file is written last and atomically: its presence means finished."""
    native = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    native[:, :2] += native_offset(dataset)
    path = protocol_result_path(root, tracker, protocol, sequence, run_id)
    if times is not None:
        _atomic_write(path.with_name(f"{sequence}_{run_id}_time.txt"), "".join(f"{t:.6f}\n" for t in times))
    _atomic_write(path, format_rows(native))
    return path


def got10k_result_path(root: Path, tracker: str, sequence: str, repetition: int = 1) -> Path:
    return Path(root) / tracker / sequence / f"{sequence}_{repetition:03d}.txt"


def write_got10k_result(root, tracker: str, sequence: str, boxes, times, repetition: int = 1) -> Path:
    """GOT-10k layout; boxes are written 1-based like the dataset's ``groundtruth.txt``."""
    native = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    native[:, :2] += 1.0
    folder = Path(root) / tracker / sequence
    time_path = folder / f"{sequence}_time.txt"
    previous = []
    if repetition > 1 and time_path.is_file():
        previous = [line.split(",") for line in time_path.read_text().splitlines() if line.strip()]
    columns = [row[: repetition - 1] for row in previous] if previous else [[] for _ in times]
    if len(columns) != len(times):
        columns = [[] for _ in times]
    lines = [",".join(list(prev) + [f"{t:.6f}"]) for prev, t in zip(columns, times)]
    _atomic_write(time_path, "\n".join(lines) + "\n")
    path = got10k_result_path(root, tracker, sequence, repetition)
    _atomic_write(path, format_rows(native))
    return path


def vot_result_path(root: Path, tracker: str, sequence: str, repetition: int = 1) -> Path:
    return Path(root) / tracker / "baseline" / sequence / f"{sequence}_{repetition:03d}.txt"


def write_vot_result(root, tracker: str, sequence: str, trajectory: list, times=None, repetition: int = 1) -> Path:
    """``trajectory`` holds ints (1 init, 2 failure, 0 skipped) or ``x,y,w,h`` boxes (VOT's own pixels)."""
    lines = []
    for item in trajectory:
        if isinstance(item, (int, np.integer)):
            lines.append(f"{int(item)}\n")
        else:
            lines.append(",".join(f"{v:.4f}" for v in np.asarray(item, dtype=np.float64)) + "\n")
    folder = Path(root) / tracker / "baseline" / sequence
    if times is not None:
        _atomic_write(folder / f"{sequence}_time.txt", "".join(f"{t:.6f}\n" for t in times))
    path = vot_result_path(root, tracker, sequence, repetition)
    _atomic_write(path, "".join(lines))
    return path


VOT_FLAGS = {0: "skipped", 1: "initialisation", 2: "failure"}


def read_vot_result(path: Path) -> list:
    """Read a VOT baseline trajectory: ints for flag lines, float arrays for regions (4 or 8 numbers).

    A flag line must hold one of the integers of :data:`VOT_FLAGS`; anything else on a one-number line
    (``9``, ``2.7``, ``nan``, ``inf``) and a file that is not text are :class:`InputError` naming the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a text file (byte {exc.start} is not UTF-8)") from None
    trajectory: list = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = [t for t in re.split(r"[,\s]+", line.strip()) if t]
        if not tokens:
            continue
        try:
            values = [float(t) for t in tokens]
        except ValueError:
            raise InputError(f"{path}:{number}: not a number in {line.strip()!r}") from None
        if len(values) == 1:
            flag = values[0]
            if not (flag.is_integer() and int(flag) in VOT_FLAGS):
                known = ", ".join(f"{k} ({v})" for k, v in VOT_FLAGS.items())
                raise InputError(f"{path}:{number}: {line.strip()!r} is not a VOT flag (expected {known}) "
                                 f"or a region of 4/8 numbers")
            trajectory.append(int(flag))
        elif len(values) in (4, 8):
            trajectory.append(np.array(values))
        else:
            raise InputError(f"{path}:{number}: expected a flag or 4/8 numbers, got {len(values)} numbers")
    return trajectory


def read_times(path: Path) -> np.ndarray | None:
    """Per-frame times (seconds); a GOT-10k multi-repetition file gives the first column."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        rows = [line.split(",")[0] for line in path.read_text().splitlines() if line.strip()]
        return np.array(rows, dtype=np.float64)
    except (OSError, ValueError):
        return None


RESULT_STYLES = ("pysot", "pytracking", "got10k")


def write_results(root, tracker: str, sequence: str, boxes, times=None, dataset: str = "otb",
                  style: str = "pysot", parameter: str | None = None, repetition: int = 1) -> Path:
    """Write one sequence's 0-based ``boxes`` (``(N, 4)`` ``x, y, w, h``, frame 1 = the initial box) the way the
    common toolkits lay results out, in the benchmark's own pixel convention (``+1`` on ``x, y`` for OTB,
    UAV123, LaSOT and GOT-10k), so that their scripts and ``dastsiam eval`` read them unchanged:

    * ``pysot`` (also the OTB/UAV123/LaSOT layout of the got10k toolkit): ``ROOT/<tracker>/<sequence>.txt``,
      ``x,y,w,h`` comma-separated, times (seconds) in ``ROOT/<tracker>/times/<sequence>_time.txt``.
    * ``pytracking``: ``ROOT/<tracker>/<parameter>/<sequence>.txt`` tab-separated and
      ``<sequence>_time.txt`` beside it (pytracking itself writes integer boxes; these keep 4 decimals, which
      its loader reads the same way). Score with ``--results ROOT/<tracker>`` (each parameter folder is a
      tracker) or ``--results ROOT/<tracker>/<parameter>``.
    * ``got10k``: ``ROOT/<tracker>/<sequence>/<sequence>_00r.txt`` plus ``<sequence>_time.txt`` (repetition
      ``r``), what the GOT-10k server takes (see :func:`~.runner.pack_got10k_submission`).

    VOT's reset-protocol trajectories have their own writer, :func:`write_vot_result`. Returns the path of
    the box file; it is written last and atomically, so its presence means the sequence is finished.
    """
    if style not in RESULT_STYLES:
        raise InputError(f"result style must be one of {', '.join(RESULT_STYLES)}, got {style!r}")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if times is not None and len(times) != len(boxes):
        raise InputError(f"{sequence}: {len(times)} times for {len(boxes)} boxes")
    if style == "pysot":
        return write_otb_result(root, tracker, sequence, boxes, times, dataset=dataset)
    if style == "got10k":
        times = np.zeros(len(boxes)) if times is None else times
        return write_got10k_result(root, tracker, sequence, boxes, times, repetition)
    native = boxes.copy()
    native[:, :2] += native_offset(dataset)
    folder = Path(root) / tracker / (parameter or "default")
    if times is not None:
        _atomic_write(folder / f"{sequence}_time.txt", "".join(f"{t:.6f}\n" for t in times))
    path = folder / f"{sequence}.txt"
    _atomic_write(path, "".join("\t".join(f"{v:.4f}" for v in row) + "\n" for row in native))
    return path
