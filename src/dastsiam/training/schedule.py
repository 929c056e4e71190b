"""Learning-rate and freezing schedules (paper Sec. 3.1 "Training detail": SGD, lr decayed log-linearly
0.005 -> 0.0005 over 50 epochs, backbone frozen for the first 10)."""

from __future__ import annotations

import math

from torch import nn

from dastsiam.training.config import OptimConfig


def learning_rate(cfg: OptimConfig, epoch: int) -> float:
    """Learning rate of ``epoch`` (0-based): optional linear warm-up, then log-spaced from ``lr_start`` to
    ``lr_end`` so that the last epoch uses exactly ``lr_end`` (pysot's ``LogScheduler``)."""
    if epoch < cfg.warmup_epochs:
        return cfg.lr_warmup + (cfg.lr_start - cfg.lr_warmup) * epoch / cfg.warmup_epochs
    decay_epochs = cfg.epochs - cfg.warmup_epochs
    if decay_epochs <= 1:
        return cfg.lr_start
    t = min(epoch - cfg.warmup_epochs, decay_epochs - 1) / (decay_epochs - 1)
    return math.exp(math.log(cfg.lr_start) + t * (math.log(cfg.lr_end) - math.log(cfg.lr_start)))


def backbone_frozen(cfg: OptimConfig, epoch: int) -> bool:
    return epoch < cfg.freeze_backbone_epochs


def is_always_frozen(name: str, cfg: OptimConfig) -> bool:
    return any(name == prefix or name.startswith(prefix.rstrip(".") + ".") for prefix in cfg.frozen)


def apply_freezing(model: nn.Module, cfg: OptimConfig, epoch: int) -> set[str]:
    """Set ``requires_grad`` for ``epoch``: the ``backbone`` attribute is frozen during the first
    ``freeze_backbone_epochs``, prefixes in ``cfg.frozen`` always. Frozen BatchNorm layers are put in eval mode
    by :func:`set_train_mode`. Returns the names of trainable parameters."""
    backbone = getattr(model, "backbone", None)
    backbone_ids = {id(p) for p in backbone.parameters()} if backbone is not None else set()
    freeze_backbone = backbone_frozen(cfg, epoch)
    trainable = set()
    for name, param in model.named_parameters():
        train = not is_always_frozen(name, cfg) and not (freeze_backbone and id(param) in backbone_ids)
        param.requires_grad_(train)
        if train:
            trainable.add(name)
    return trainable


def set_train_mode(model: nn.Module, bn_eval: bool = False) -> None:
    """``model.train()``, except that modules whose parameters are all frozen stay in eval mode, so frozen
    BatchNorm statistics are not updated either (pysot does the same). ``bn_eval`` (``optim.bn_eval``) keeps
    every BatchNorm layer in eval mode: running statistics frozen, affine parameters still trainable."""
    model.train()
    for module in model.modules():
        params = list(module.parameters(recurse=True))
        if params and not any(p.requires_grad for p in params):
            module.eval()
        elif bn_eval and isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def parameter_groups(model: nn.Module, cfg: OptimConfig) -> list[dict]:
    """Two SGD groups: the backbone (``lr_scale = backbone_lr_scale``) and the rest (``lr_scale = 1``).
    All parameters are registered once; frozen ones just get no gradient."""
    backbone = getattr(model, "backbone", None)
    backbone_ids = {id(p) for p in backbone.parameters()} if backbone is not None else set()
    groups = {"backbone": [], "rest": []}
    for _, param in model.named_parameters():
        groups["backbone" if id(param) in backbone_ids else "rest"].append(param)
    out = []
    if groups["backbone"]:
        out.append({"params": groups["backbone"], "lr_scale": cfg.backbone_lr_scale, "name": "backbone"})
    if groups["rest"]:
        out.append({"params": groups["rest"], "lr_scale": 1.0, "name": "rest"})
    return out


def set_learning_rate(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
