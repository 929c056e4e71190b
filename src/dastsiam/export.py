"""ONNX export of a :class:`SiameseModel` and an onnxruntime back end with the same interface.

:func:`export_onnx` writes one graph per inference method of :class:`dastsiam.models.base.SiameseModel`:

* ``template.onnx``: ``z (B, 3, E, E) -> f_z``
* ``search.onnx``: ``x (B, 3, I, I), f_z -> cls, loc[, conf]`` (DA, when the model has it, is inside)
* ``fuse.onnx`` (models with ST only): ``f_a, f_c, f_i -> f_z``

plus ``model.yaml`` beside them (the :class:`ModelConfig`, the :class:`OutputGeometry`, the graph outputs and
each graph file's SHA-256; the format is :mod:`dastsiam.onnx_format`). :class:`dastsiam.onnx_backend.OnnxModel`
(torch-free) loads such a folder and offers ``template``/``fuse``/``track``/``geometry``, so
:class:`dastsiam.tracking.Tracker` runs on either back end unchanged. This module does not import the back end:
the back end's export cache imports this one (one way, no circle).
"""

from __future__ import annotations

import contextlib
import copy
import os
import sys
import warnings
from dataclasses import asdict
from pathlib import Path

import torch

from dastsiam.errors import ModelError
from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.onnx_format import GRAPH_FILES, META_FILE, file_sha256


class _Method(torch.nn.Module):
    """Wraps one inference method of a model as ``forward`` (what the ONNX exporter traces)."""

    def __init__(self, model: SiameseModel, method: str):
        super().__init__()
        self.model = model
        self.method = method
        # an nn.Module starts in training mode, and the exporter restores the wrapper's mode (recursively)
        # after tracing: without this the model would be left in training mode after the first export
        self.eval()

    def forward(self, *args: torch.Tensor):
        out = getattr(self.model, self.method)(*args)
        if isinstance(out, HeadOutput):
            return tuple(t for t in out if t is not None)
        return out


def _export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], opset: int) -> bool:
    """Export with a dynamic batch axis where the graph allows it, else with the traced batch (1).

    Returns whether the batch axis is dynamic. A graph exported with a symbolic batch is checked on a batch of 2
    with onnxruntime against torch: a depthwise cross-correlation written as a grouped conv whose weights come
    from an input (SiamFC) exports "successfully" with a batch it cannot run, so it is re-exported for batch 1
    and :class:`OnnxModel` runs it once per batch item. The TorchScript-based exporter is used: it needs no
    extra package (the dynamo exporter needs onnxscript).
    """
    dynamic = {name: {0: "batch"} for name in inputs + outputs}
    with warnings.catch_warnings(), _quiet_stdout():
        warnings.simplefilter("ignore")  # tracer / deprecation chatter of the TorchScript-based exporter
        try:
            torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                              opset_version=opset, dynamic_axes=dynamic, do_constant_folding=True, dynamo=False)
            if _runs_batch_2(module, args, path, inputs):
                return True
        except torch.onnx.errors.SymbolicValueError:
            pass
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs,
                          opset_version=opset, do_constant_folding=True, dynamo=False)
        return False


def _runs_batch_2(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str]) -> bool:
    """Whether the exported graph at ``path`` gives torch's outputs on a batch of two different items."""
    import numpy as np

    from dastsiam.runtime import import_onnxruntime

    ort = import_onnxruntime()  # telemetry off (docs/runtime.md)
    batch = tuple(torch.cat([a, a * 0.5 + 1.0]) for a in args)
    module.eval()  # never update BatchNorm statistics here
    with torch.no_grad():
        ref = module(*batch)
    ref = [ref] if isinstance(ref, torch.Tensor) else list(ref)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 4  # the failure this looks for is expected; keep it off stderr
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        got = session.run(None, {name: a.numpy() for name, a in zip(inputs, batch)})
    except Exception:
        return False
    for r, g in zip(ref, got):
        r = r.numpy()
        if g.shape != r.shape or not np.all(np.abs(g - r) <= 1e-3 * (np.abs(r).max() + 1.0)):
            return False
    return True


@contextlib.contextmanager
def _quiet_stdout():
    """Discard what the exporter prints (the TorchScript exporter dumps whole graphs for some models, from C++
    to file descriptor 1 and from Python to ``sys.stdout``): a command's stdout stays its own output."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        with contextlib.redirect_stdout(open(os.devnull, "w")) as sink:
            try:
                yield
            finally:
                sink.close()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def export_onnx(model: SiameseModel, out_dir: str | Path, opset: int = 17, config: ModelConfig | None = None,
                extra_metadata: dict | None = None) -> Path:
    """Write ``template.onnx``, ``search.onnx`` (and ``fuse.onnx`` with ST) and ``model.yaml`` to ``out_dir``.

    The model is exported in eval mode (a NanoTrack copy has its BatchNorms folded first). Returns ``out_dir``.
    """
    import yaml

    from dastsiam.config import to_dict

    from torch.onnx import _constants

    lowest, highest = _constants.ONNX_MIN_OPSET, _constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET
    if isinstance(opset, bool) or not isinstance(opset, int) or not lowest <= opset <= highest:
        raise ModelError(f"opset {opset!r}: the ONNX exporter (TorchScript-based, torch {torch.__version__}) writes "
                         f"opsets {lowest} to {highest}; the default is 17")
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

    try:
        dynamic_batch = {
            "template": _export(_Method(model, "template"), (z,), out_dir / "template.onnx", ["z"], ["f_z"], opset),
            "search": _export(_Method(model, "track"), (x, f_z), out_dir / "search.onnx", ["x", "f_z"], outputs,
                              opset),
        }
        (out_dir / "fuse.onnx").unlink(missing_ok=True)
        if model.has_st:
            dynamic_batch["fuse"] = _export(_Method(model, "fuse"), (f_z, f_z, f_z), out_dir / "fuse.onnx",
                                            ["f_a", "f_c", "f_i"], ["f_z"], opset)
    except (torch.onnx.errors.OnnxExporterError, RuntimeError) as exc:  # e.g. an operator the opset lacks
        message = " ".join(str(exc).split())[:300]
        raise ModelError(f"{out_dir}: ONNX export with opset {opset} failed ({exc.__class__.__name__}: "
                         f"{message})") from None

    meta = {
        "model": to_dict(config) if config is not None else None,
        "geometry": asdict(geo),
        "outputs": outputs,
        "has_st": bool(model.has_st),
        "template_features": list(f_z.shape[1:]),
        "dynamic_batch": dynamic_batch,  # False: the graph was traced for batch 1 only
        "opset": opset,
        # checked before a cached export is used (dastsiam.onnx_backend.verify_export)
        "sha256": {name: file_sha256(out_dir / name) for name in GRAPH_FILES if (out_dir / name).is_file()},
    }
    meta.update(extra_metadata or {})
    tmp = out_dir / (META_FILE + ".tmp")
    tmp.write_text(yaml.safe_dump(meta, sort_keys=False))
    tmp.replace(out_dir / META_FILE)  # written last: a folder with model.yaml is a complete export
    return out_dir
