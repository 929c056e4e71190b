"""Output files written whole or not at all."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from dastsiam.errors import OutputError

__all__ = ["write_atomically"]


def write_atomically(path: Path, data: str | bytes, *, temp_suffix: str = ".tmp", what: str = "",
                     make_parents: bool = False) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through ``path`` + ``temp_suffix`` and a rename, so no
    reader ever sees half a file. A failed write (a full disk) removes the temporary file and raises
    :class:`OutputError` naming ``path`` (``cannot write [what] (reason)``); a file already at ``path`` stays as
    it was. ``make_parents`` creates the folder first (its failure is reported the same way)."""
    path = Path(path)
    tmp = path.with_name(path.name + temp_suffix)
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write{' ' + what if what else ''} ({exc.strerror or exc})") from None
