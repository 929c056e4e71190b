"""Low-level readers shared by the dataset loaders: annotation text files and frame listings.

Annotation files of the benchmarks mix delimiters (commas, tabs, spaces, even within one OTB file) and write
absent targets as ``NaN`` rows; :func:`read_numbers` accepts all of that, and names the file and line of any
row it cannot use.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np

from dastsiam.errors import InputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_SPLIT = re.compile(r"[,;\s]+")
_TO_SPACE = str.maketrans({",": " ", ";": " ", "\t": " "})


def read_numbers(path: Path, columns: tuple[int, ...] = (4,), allow_empty: bool = False) -> np.ndarray:
    """Read a text file of numeric rows into an ``(N, C)`` float64 array.

    Every non-blank line must hold one of ``columns`` numbers (all lines the same count); ``NaN``/``nan`` is
    accepted. Raises :class:`InputError` naming ``path`` and the 1-based line number for anything else.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig", errors="strict")
    except FileNotFoundError:
        raise InputError(f"{path}: annotation file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read annotation file ({exc})") from None
    fast = _fast_parse(text, columns)
    if fast is not None:
        return fast
    rows: list[list[str]] = []
    line_numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        rows.append([t for t in _SPLIT.split(line) if t])
        line_numbers.append(number)
    if not rows:
        if allow_empty:
            return np.zeros((0, columns[0]))
        raise InputError(f"{path}: annotation file is empty")
    width = len(rows[0])
    if width not in columns:
        expected = " or ".join(str(c) for c in columns)
        raise InputError(f"{path}:{line_numbers[0]}: expected {expected} numbers per row, got {width}")
    for tokens, number in zip(rows, line_numbers):
        if len(tokens) != width:
            raise InputError(f"{path}:{number}: expected {width} numbers like the first row, got {len(tokens)}")
    try:
        return np.array([t for tokens in rows for t in tokens], dtype=np.float64).reshape(-1, width)
    except ValueError:
        for tokens, number in zip(rows, line_numbers):
            try:
                [float(t) for t in tokens]
            except ValueError:
                raise InputError(f"{path}:{number}: not a number in {' '.join(tokens)!r}") from None
        raise


def _fast_parse(text: str, columns: tuple[int, ...]) -> np.ndarray | None:
    """NumPy's C parser for the common well-formed file; ``None`` sends the caller to the checking parser."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.loadtxt(io.StringIO(text.translate(_TO_SPACE)), dtype=np.float64, ndmin=2)
    except ValueError:
        return None
    if values.size == 0 or values.shape[1] not in columns:
        return None
    return values


def read_flag_row(path: Path, length: int | None = None) -> np.ndarray:
    """Read a per-frame label file that may be one column or one comma-separated row (LaSOT)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"{path}: cannot read label file ({exc})") from None
    tokens = [t for t in _SPLIT.split(text.strip()) if t]
    try:
        values = np.array(tokens, dtype=np.float64).astype(np.int64)
    except ValueError:
        raise InputError(f"{path}: labels must be integers") from None
    return _check_length(values, path, length)


def _check_length(values: np.ndarray, path: Path, length: int | None) -> np.ndarray:
    if length is not None and len(values) != length:
        raise InputError(f"{path}: {len(values)} labels but the sequence has {length} frames")
    return values


def list_frames(folder: Path) -> list[Path]:
    """Image files of ``folder`` sorted by name (one directory listing, no image is opened)."""
    folder = Path(folder)
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.name.lower().endswith(IMAGE_EXTENSIONS))
    except FileNotFoundError:
        raise InputError(f"{folder}: frame folder not found") from None
    except NotADirectoryError:
        raise InputError(f"{folder}: not a folder") from None
    return [folder / n for n in names]


def require_dir(root: Path, what: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: {what} folder not found")
    return root


def select_names(available: list[str], names, root: Path) -> list[str]:
    """Keep ``names`` (in the given order) from ``available``; unknown names are an error."""
    if names is None:
        return list(available)
    wanted = [names] if isinstance(names, str) else list(names)
    known = set(available)
    missing = [n for n in wanted if n not in known]
    if missing:
        raise InputError(f"{root}: no sequence named {', '.join(missing)}")
    return wanted


def sort_key(name: str):
    """Natural sort: ``seq2`` before ``seq10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]
