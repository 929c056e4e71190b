"""The exported-model folder format, shared by the writer (:mod:`dastsiam.export`) and the reader
(:mod:`dastsiam.onnx_backend`), so that neither imports the other for it.

A folder holds ``template.onnx``, ``search.onnx`` (``fuse.onnx`` for models with ST) and ``model.yaml``, written
last (a folder with ``model.yaml`` is a complete export): the model config, the output geometry, the graph
outputs, whether each graph has a dynamic batch axis, and the SHA-256 of every graph file
(:func:`verify_export` checks them before a cached export is used).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from dastsiam.errors import ModelError

__all__ = ["META_FILE", "GRAPH_FILES", "file_sha256", "read_meta", "verify_export"]

META_FILE = "model.yaml"
GRAPH_FILES = ("template.onnx", "search.onnx", "fuse.onnx")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_meta(folder: Path) -> dict:
    import yaml

    meta_path = folder / META_FILE
    if not meta_path.is_file():
        raise ModelError(f"{folder}: not an exported model folder (no {META_FILE})")
    try:
        meta = yaml.safe_load(meta_path.read_text())
        if not isinstance(meta, dict):
            raise ValueError("not a mapping")
        return meta
    except Exception as exc:
        raise ModelError(f"{meta_path}: unreadable export metadata ({exc})") from None


def verify_export(folder: str | Path) -> str | None:
    """``None`` if every graph file of the export in ``folder`` matches the SHA-256 recorded in its
    ``model.yaml``, else a short reason (missing/unreadable metadata, missing file, hash mismatch).
    Exports written before hashes were recorded have nothing to check against and count as corrupt."""
    folder = Path(folder)
    try:
        meta = read_meta(folder)
    except ModelError as exc:
        return str(exc)
    hashes = meta.get("sha256")
    if not isinstance(hashes, dict) or "template.onnx" not in hashes or "search.onnx" not in hashes:
        return f"{folder / META_FILE}: no graph hashes recorded"
    for name, expected in hashes.items():
        path = folder / name
        if not path.is_file():
            return f"{path}: missing"
        if file_sha256(path) != expected:
            return f"{path}: SHA-256 differs from the one recorded at export"
    return None
