"""Built-in model names, model construction and weight loading.

``build_model(cfg)`` dispatches on ``cfg.arch`` to the architecture module's ``build(cfg)``;
``load_model(name_or_path)`` resolves a built-in name (table below) or a path to a ``.safetensors`` file
(with its resolved ``.yaml`` config beside it, as the trainer writes them) or a training checkpoint ``.pt``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from dastsiam.errors import ModelError
from dastsiam.models.config import DAConfig, ModelConfig, STConfig

if TYPE_CHECKING:  # torch is imported by the functions that need it: the onnxruntime path runs without it
    import torch

    from dastsiam.models.base import SiameseModel

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"

# arch -> "module:function" building an untrained SiameseModel from a ModelConfig
_BUILDERS = {
    "r50": "dastsiam.models.siamrpn:build",
    "mobilenetv2": "dastsiam.models.siamrpn:build",
    "alexnet": "dastsiam.models.siamfc:build",
    "nano": "dastsiam.models.nano:build",
    "fear": "dastsiam.models.fear:build",
}


@dataclass(frozen=True)
class BuiltinModel:
    config: ModelConfig
    weights: str | None  # file name in dastsiam/weights, None = untrained (random init)
    description: str
    # True: the weights are the base model's and the added modules (ST / DA / confidence branch) keep their zero
    # init (`dastsiam models` says so)
    modules_untrained: bool = False


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "nano": BuiltinModel(
        ModelConfig(arch="nano", nano_version="v2", confidence="cls"),
        "nanotrack_v2.safetensors",
        "NanoTrack v2 (trained, Apache-2.0 weights); the default model, fast on CPUs",
    ),
    "nano-v3": BuiltinModel(
        ModelConfig(arch="nano", nano_version="v3", confidence="cls"),
        "nanotrack_v3.safetensors",
        "NanoTrack v3 (trained, Apache-2.0 weights)",
    ),
    "nano-st-da": BuiltinModel(
        ModelConfig(arch="nano", nano_version="v2", st=STConfig(enabled=True, dim=64, heads=4, ffn_dim=256),
                    da=DAConfig(enabled=True, dim=64, heads=4, ffn_dim=256), confidence="cls_conf"),
        "nanotrack_v2.safetensors",
        "light DASTSiam: NanoTrack v2 + ST + DA + BCE confidence branch (zero-initialised; cls/loc equal "
        "`nano` until fine-tuned)",
        modules_untrained=True,
    ),
    "dastsiam-nano": BuiltinModel(
        ModelConfig(arch="nano", nano_version="v2", st=STConfig(enabled=True, dim=64, heads=4, ffn_dim=256),
                    da=DAConfig(enabled=True, dim=64, heads=4, ffn_dim=256), confidence="cls_conf"),
        "dastsiam_nano.safetensors",
        "light DASTSiam, trained: `nano-st-da` fine-tuned on the shared training set (configs/nano_ft.yaml); "
        "not better than `nano` (docs/ablation.md), about half as fast",
    ),
    "fear-xs": BuiltinModel(
        ModelConfig(arch="fear", confidence="cls"),
        "fear_xs.safetensors",
        "FEAR-XS (Borsuk et al. 2022; trained, MIT weights): the released model without dynamic template update",
    ),
    "dastsiam-fear": BuiltinModel(
        ModelConfig(arch="fear", st=STConfig(enabled=True, dim=64, heads=4, ffn_dim=256),
                    da=DAConfig(enabled=True, dim=64, heads=4, ffn_dim=256), confidence="cls_conf"),
        "fear_xs.safetensors",
        "DASTSiam on FEAR-XS: fear-xs + ST + DA + BCE confidence branch, UNTRAINED (zero-initialised: tracks "
        "exactly like `fear-xs`, slower); no trained weights ship (docs/ablation.md, FEAR section)",
        modules_untrained=True,
    ),
    "dastsiam-r50": BuiltinModel(
        ModelConfig(arch="r50", st=STConfig(enabled=True), da=DAConfig(enabled=True)),
        None,
        "the paper's DASTSiam: SiamRPN ResNet-50 + ST + DA (untrained; train with configs/dastsiam_r50.yaml)",
    ),
    "siamrpn-r50": BuiltinModel(
        ModelConfig(arch="r50"),
        None,
        "baseline SiamRPN ResNet-50 with centre-distance labels (untrained)",
    ),
    "siamfc": BuiltinModel(ModelConfig(arch="alexnet"), None, "SiamFC, AlexNet backbone (untrained)"),
    "siamfc-st": BuiltinModel(
        ModelConfig(arch="alexnet", st=STConfig(enabled=True)), None, "SiamFC + ST (untrained)"
    ),
}

DEFAULT_MODEL = "nano"


def build_model(cfg: ModelConfig) -> SiameseModel:
    """An untrained model for ``cfg`` (ST/DA zero-initialised where configured)."""
    module_name, func_name = _BUILDERS[cfg.arch].split(":")
    return getattr(importlib.import_module(module_name), func_name)(cfg)


def save_weights(model: SiameseModel, cfg: ModelConfig, path: str | Path, extra_metadata: dict | None = None) -> None:
    """Save ``model`` as safetensors with its :class:`ModelConfig` (YAML) in the file's metadata."""
    import yaml
    from safetensors.torch import save

    from dastsiam.config import to_dict
    from dastsiam.files import write_atomically

    path = Path(path)
    metadata = {"dastsiam_model_config": yaml.safe_dump(to_dict(cfg), sort_keys=False)}
    metadata.update({k: str(v) for k, v in (extra_metadata or {}).items()})
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    # serialised in memory and written by Python, whose errors carry the OS reason; no partial file is left
    write_atomically(path, save(state, metadata=metadata), what="the weights")


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except FileNotFoundError:
        raise ModelError(f"{path}: weights file not found") from None
    except Exception as exc:  # safetensors raises its own error types for truncated / corrupt files
        raise ModelError(f"{path}: not a readable safetensors file ({exc})") from None
    return state, metadata


def load_state(model: SiameseModel, state: dict[str, torch.Tensor], source: str, strict: bool = True) -> None:
    """Load ``state`` into ``model``; names the file and the first mismatching key on failure."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        what = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise ModelError(f"{source}: weights do not match the model ({what}, {len(missing)} missing, "
                         f"{len(unexpected)} unexpected keys)")
    for k, v in state.items():
        if k in own and own[k].shape != v.shape:
            raise ModelError(f"{source}: {k} has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
    _check_finite(state, source)
    model.load_state_dict(state, strict=strict)


def _check_finite(state: dict[str, torch.Tensor], source: str) -> None:
    """Weights holding NaN or infinity make every score NaN: the tracker would sit on its initial box without a
    word (NaN never wins the arg-max), so such a file is refused, naming the first tensor at fault."""
    import torch

    bad = [k for k, v in state.items() if torch.is_tensor(v) and v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelError(f"{source}: {len(bad)} of {len(state)} weight tensors hold NaN or infinite values "
                         f"(first: {bad[0]}); these weights cannot track (a diverged training run?)")


def _config_mapping(text: str, where: str) -> dict:
    """The model config YAML of a weights file (its metadata or the ``.yaml`` beside it) as a mapping; broken
    YAML, a tag that would build a Python object or a non-mapping is a :class:`ModelError` naming ``where``."""
    import yaml

    from dastsiam.config import parse_yaml

    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise ModelError(f"{where}: the model config is not valid YAML ({problem[:300]})") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{where}: the model config must be a mapping of ModelConfig keys, "
                         f"got {type(raw).__name__}")
    return raw


def load_model(name_or_path: str | Path = DEFAULT_MODEL, device: str | torch.device = "cpu") -> tuple[SiameseModel, ModelConfig]:
    """A model in eval mode on ``device`` and its config, from a built-in name or a weights file.

    Accepted: a name of :data:`BUILTIN_MODELS`; a ``.safetensors`` file written by :func:`save_weights`
    (config in its metadata, or a ``.yaml`` beside it); a trainer checkpoint ``.pt`` (loaded with
    ``weights_only=True``).
    """
    from dastsiam.config import from_dict

    key = str(name_or_path)
    if key in BUILTIN_MODELS:
        entry = BUILTIN_MODELS[key]
        cfg = entry.config
        model = build_model(cfg)
        if entry.weights is not None:
            path = WEIGHTS_DIR / entry.weights
            state, _ = _read_safetensors(path)
            # built-in ST/DA/confidence variants start from the base model's weights: the added modules keep
            # their zero init (strict loading for the plain published models)
            adds_modules = cfg.st.enabled or cfg.da.enabled or cfg.confidence != "cls"
            load_state(model, state, str(path), strict=not adds_modules)
        return model.to(device).eval(), cfg

    path = Path(key)
    if not path.suffix:
        raise ModelError(f"unknown model {key!r}; built-in models: {', '.join(BUILTIN_MODELS)} (or a weights file path)")
    if not path.is_file():
        raise ModelError(f"{path}: weights file not found")
    if path.suffix == ".safetensors":
        state, metadata = _read_safetensors(path)
        if "dastsiam_model_config" in metadata:
            where = f"{path} (metadata dastsiam_model_config)"
            raw = _config_mapping(metadata["dastsiam_model_config"], where)
        elif path.with_suffix(".yaml").is_file():
            where = str(path.with_suffix(".yaml"))
            try:
                text = path.with_suffix(".yaml").read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ModelError(f"{where}: cannot read the model config ({exc})") from None
            raw = _config_mapping(text, where)
            raw = raw.get("model", raw)
        else:
            raise ModelError(f"{path}: no model config in the file's metadata and no {path.with_suffix('.yaml').name} beside it")
        cfg = from_dict(ModelConfig, raw, where=where)
    elif path.suffix in (".pt", ".pth"):
        try:
            import torch

            ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelError(f"{path}: not a readable checkpoint ({exc.__class__.__name__}: {str(exc)[:200]})") from None
        if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
            raise ModelError(f"{path}: not a dastsiam checkpoint (needs 'model' and 'config' entries)")
        raw = ckpt["config"]
        raw = raw.get("model", raw) if isinstance(raw, dict) else raw
        cfg = from_dict(ModelConfig, raw, where=f"{path} (config)")
        state = ckpt["model"]
    else:
        raise ModelError(f"{path}: unsupported weights format {path.suffix!r} (use .safetensors or a .pt checkpoint)")
    model = build_model(cfg)
    load_state(model, state, str(path))
    return model.to(device).eval(), cfg
