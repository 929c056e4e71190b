"""ONNX export of a :class:`SiameseModel` and an onnxruntime back end with the same interface.

:func:`export_onnx` writes one graph per inference method of :class:`dastsiam.models.base.SiameseModel`:

* ``template.onnx``: ``z (B, 3, E, E) -> f_z``
* ``search.onnx``: ``x (B, 3, I, I), f_z -> cls, loc[, conf]`` (DA, when the model has it, is inside)
* ``fuse.onnx`` (models with ST only): ``f_a, f_c, f_i -> f_z``

plus ``model.yaml`` beside them (the :class:`ModelConfig`, the :class:`OutputGeometry` and the graph outputs).
:class:`OnnxModel` loads such a folder and offers ``template``/``fuse``/``track``/``geometry`` on torch
tensors, so :class:`dastsiam.tracking.Tracker` runs on either back end unchanged.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from dastsiam.errors import ModelError
from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.models.geometry import OutputGeometry

META_FILE = "model.yaml"
GRAPH_FILES = ("template.onnx", "search.onnx", "fuse.onnx")


class _Method(torch.nn.Module):
    """Wraps one inference method of a model as ``forward`` (what the ONNX exporter traces)."""

    def __init__(self, model: SiameseModel, method: str):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, *args: torch.Tensor):
        out = getattr(self.model, self.method)(*args)
        if isinstance(out, HeadOutput):
            return tuple(t for t in out if t is not None)
        return out


def _export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], opset: int) -> bool:
    """Export with a dynamic batch axis where the graph allows it, else with the traced batch (1).

    Returns whether the batch axis is dynamic. (A depthwise cross-correlation written as a grouped conv whose
    weights come from an input cannot be exported with a symbolic batch; the tracker only needs batch 1.)
    The TorchScript-based exporter is used: it needs no extra package (the dynamo exporter needs onnxscript).
    """
    dynamic = {name: {0: "batch"} for name in inputs + outputs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer / deprecation chatter of the TorchScript-based exporter
        try:
            torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                              opset_version=opset, dynamic_axes=dynamic, do_constant_folding=True, dynamo=False)
            return True
        except torch.onnx.errors.SymbolicValueError:
            torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                              opset_version=opset, do_constant_folding=True, dynamo=False)
            return False


def export_onnx(model: SiameseModel, out_dir: str | Path, opset: int = 17, config: ModelConfig | None = None) -> Path:
    """Write ``template.onnx``, ``search.onnx`` (and ``fuse.onnx`` with ST) and ``model.yaml`` to ``out_dir``.

    The model is exported in eval mode (a NanoTrack copy has its BatchNorms folded first). Returns ``out_dir``.
    """
    import yaml

    from dastsiam.config import to_dict

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = copy.deepcopy(model).cpu().eval()
    if hasattr(model, "fuse_for_inference") and not getattr(model, "fused", False):
        model.fuse_for_inference()
    geo = model.geometry
    z = torch.rand(1, 3, geo.exemplar_size, geo.exemplar_size) * 255
    x = torch.rand(1, 3, geo.instance_size, geo.instance_size) * 255
    with torch.no_grad():
        f_z = model.template(z)
        head = model.track(x, f_z)
    outputs = [name for name, t in zip(HeadOutput._fields, head) if t is not None]

    dynamic_batch = {
        "template": _export(_Method(model, "template"), (z,), out_dir / "template.onnx", ["z"], ["f_z"], opset),
        "search": _export(_Method(model, "track"), (x, f_z), out_dir / "search.onnx", ["x", "f_z"], outputs, opset),
    }
    (out_dir / "fuse.onnx").unlink(missing_ok=True)
    if model.has_st:
        dynamic_batch["fuse"] = _export(_Method(model, "fuse"), (f_z, f_z, f_z), out_dir / "fuse.onnx",
                                        ["f_a", "f_c", "f_i"], ["f_z"], opset)

    meta = {
        "model": to_dict(config) if config is not None else None,
        "geometry": asdict(geo),
        "outputs": outputs,
        "has_st": bool(model.has_st),
        "template_features": list(f_z.shape[1:]),
        "dynamic_batch": dynamic_batch,  # False: the graph was traced for batch 1 only
        "opset": opset,
    }
    (out_dir / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False))
    return out_dir


class OnnxModel:
    """Runs graphs written by :func:`export_onnx` with onnxruntime (CPU), behind the SiameseModel interface.

    ``threads`` sets onnxruntime's intra-op thread count (``None`` = onnxruntime's default). ``spinning``
    lets idle pool threads busy-wait for the next run: slightly lower latency on an otherwise idle machine,
    but on few shared cores the spinning threads take CPU from the tracker's own cropping between runs, so it
    is off by default.
    Inputs and outputs are ``torch.Tensor`` (CPU, float32); conversions go through numpy without copies
    where the tensor is already contiguous float32.
    """

    def __init__(self, out_dir: str | Path, threads: int | None = 2, spinning: bool = False):
        import onnxruntime as ort
        import yaml

        from dastsiam.config import from_dict

        self.path = Path(out_dir)
        meta_path = self.path / META_FILE
        if not meta_path.is_file():
            raise ModelError(f"{self.path}: not an exported model folder (no {META_FILE})")
        try:
            meta = yaml.safe_load(meta_path.read_text())
            self.geometry = OutputGeometry(**meta["geometry"])
            self._outputs = list(meta["outputs"])
            self._has_st = bool(meta["has_st"])
        except Exception as exc:
            raise ModelError(f"{meta_path}: unreadable export metadata ({exc})") from None
        self.config = from_dict(ModelConfig, meta["model"], where=str(meta_path)) if meta.get("model") else None

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.inter_op_num_threads = 1
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")

        def session(name: str):
            path = self.path / name
            try:
                return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            except Exception as exc:
                raise ModelError(f"{path}: cannot load ONNX graph ({str(exc)[:200]})") from None

        self._template = session("template.onnx")
        self._search = session("search.onnx")
        self._fuse = session("fuse.onnx") if self._has_st else None

    # -- the SiameseModel inference interface -------------------------------------------------------
    @property
    def has_st(self) -> bool:
        return self._has_st

    def template(self, z: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self._template.run(None, {"z": _to_numpy(z)})[0])

    def fuse(self, f_a: torch.Tensor, f_c: torch.Tensor, f_i: torch.Tensor) -> torch.Tensor:
        if self._fuse is None:
            return f_i
        feeds = {"f_a": _to_numpy(f_a), "f_c": _to_numpy(f_c), "f_i": _to_numpy(f_i)}
        return torch.from_numpy(self._fuse.run(None, feeds)[0])

    def track(self, x: torch.Tensor, f_z: torch.Tensor) -> HeadOutput:
        results = self._search.run(self._outputs, {"x": _to_numpy(x), "f_z": _to_numpy(f_z)})
        named = {name: torch.from_numpy(value) for name, value in zip(self._outputs, results)}
        return HeadOutput(cls=named["cls"], loc=named.get("loc"), conf=named.get("conf"))

    # -- no-ops that let code written for nn.Module use this back end ---------------------------------
    def eval(self) -> "OnnxModel":
        return self

    def to(self, device: str | torch.device) -> "OnnxModel":
        if torch.device(device).type != "cpu":
            raise ModelError(f"{self.path}: the onnxruntime back end runs on the CPU only (asked for {device})")
        return self

    def __call__(self, z_i: torch.Tensor, x: torch.Tensor) -> HeadOutput:
        return self.track(x, self.template(z_i))

    def __repr__(self) -> str:
        return f"OnnxModel({str(self.path)!r}, outputs={self._outputs}, has_st={self._has_st})"


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    if isinstance(t, np.ndarray):
        return np.ascontiguousarray(t, dtype=np.float32)
    arr = t.detach().cpu().numpy()
    return np.ascontiguousarray(arr, dtype=np.float32)


def default_cache_dir() -> Path:
    """Where :func:`cached_onnx_model` keeps exports: ``$DASTSIAM_CACHE/onnx`` or ``~/.cache/dastsiam/onnx``."""
    import os

    root = os.environ.get("DASTSIAM_CACHE") or Path.home() / ".cache" / "dastsiam"
    return Path(root) / "onnx"


def cached_onnx_model(name_or_path: str | Path = "nano", cache_dir: str | Path | None = None,
                      threads: int | None = 2, spinning: bool = False) -> OnnxModel:
    """An :class:`OnnxModel` for a built-in model name or weights file, exported once and then reused.

    The cache key is the model name plus a SHA-256 of its weights file (or of the name alone for untrained
    built-ins) and the dastsiam version, so new weights never reuse a stale export. An exported folder
    (with ``model.yaml``) is opened directly.
    """
    import hashlib
    import shutil
    import tempfile

    from dastsiam import __version__
    from dastsiam.models.registry import BUILTIN_MODELS, WEIGHTS_DIR, load_model

    key = str(name_or_path)
    if Path(key).is_dir():
        return OnnxModel(key, threads=threads, spinning=spinning)
    if key in BUILTIN_MODELS:
        weights = BUILTIN_MODELS[key].weights
        source = WEIGHTS_DIR / weights if weights else None
    else:
        source = Path(key)
        if not source.is_file():
            raise ModelError(f"{source}: weights file not found")
    digest = hashlib.sha256(f"{key}|{__version__}".encode())
    if key in BUILTIN_MODELS:  # a built-in's architecture can change under the same weights file
        digest.update(repr(BUILTIN_MODELS[key].config).encode())
    if source is not None and source.is_file():
        digest.update(source.read_bytes())
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = folder / f"{Path(key).stem}-{digest.hexdigest()[:16]}"
    if not (folder / META_FILE).is_file():
        model, cfg = load_model(key)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
        try:
            export_onnx(model, staging, config=cfg)
            try:
                staging.rename(folder)  # atomic: a concurrent export of the same model simply loses the race
            except OSError:
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return OnnxModel(folder, threads=threads, spinning=spinning)
