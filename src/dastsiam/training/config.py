"""Typed training configuration (one YAML per experiment, loaded strictly with :func:`load_train_config`).

Every switch that fills a gap in the paper is documented in ``docs/training.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from dastsiam.config import ConfigError, load_yaml
from dastsiam.models.config import ModelConfig


@dataclass
class DataSourceConfig:
    """One training dataset in its native layout, read with :func:`dastsiam.datasets.load_dataset`."""

    kind: Literal["got10k", "lasot", "imagenet_vid", "custom", "otb", "uav123", "vot2018"]
    root: Path
    split: Optional[str] = None
    names: Optional[list[str]] = None  # restrict to these sequences
    weight: float = 1.0  # relative share of the samples drawn from this dataset
    num_samples: Optional[int] = None  # absolute samples per epoch from it (overrides weight)


@dataclass
class SamplingConfig:
    mode: Literal["triplet", "pair"] = "triplet"  # triplet: the paper's T_i/T_a/T_c; pair: classic baselines
    window: int = 50  # frames in the window that T_i, T_a, T_c and the search frame are drawn from (paper: 50)
    # pair mode: max frame distance between template and search frame; None = window - 1 (the same window as
    # the triplet, so pair and triplet ablations see the same temporal range); pysot uses 100
    pair_gap: Optional[int] = None
    # as at tracking time: T_i <= T_a < T_c < search frame (pair mode: template <= search); False = any order
    time_order: bool = True
    # share of samples whose search crop is centred on another sequence's object (DaSiamRPN's negative pairs):
    # every cell is negative for L_cls1 and L_cls2, no regression
    negative_prob: float = 0.2
    min_target_size: float = 4.0  # frames whose box side is below this (pixels) are skipped
    max_aspect_ratio: float = 10.0  # frames with a more extreme box aspect are skipped
    min_valid_frames: int = 1  # sequences with fewer usable frames are skipped
    # a sequence with a single usable frame (a still photo: COCO/DET-style data, the shared train_images/) is
    # used as an image pair: every template and the search crop are cut from that one frame, each with its own
    # augmentation (SiamRPN / DaSiamRPN). False skips such sequences. Its share of the samples is its dataset's
    # `weight` / `num_samples` (data[*]).
    image_pairs: bool = True
    # T_a / T_c mimic the tracker's own (imperfect) crops of later frames: their box is jittered before cropping,
    # and the image noise of augmentation.noisy_template (blur, Gaussian noise, colour) is applied to them
    template_noise_shift: float = 0.1  # centre shift, uniform in +-this * box side
    template_noise_scale: float = 0.1  # size change, exp(uniform(+-this))
    reseed_each_epoch: bool = True  # False repeats the same samples every epoch (overfitting smoke tests)


@dataclass
class CropAugConfig:
    shift: float = 0.0  # max shift of the crop, pixels of the output crop
    scale: float = 0.0  # max relative scale change
    blur: float = 0.0  # probability of a Gaussian blur
    flip: float = 0.0  # probability of a horizontal flip
    colour: float = 1.0  # probability of colour jitter (per-channel gain and brightness)
    gray: float = 0.0  # probability of turning the crop grey
    noise: float = 0.0  # probability of additive Gaussian pixel noise
    noise_std: float = 8.0  # its standard deviation, grey levels (0..255), drawn uniformly in [0.25, 1] x this


@dataclass
class AugmentationConfig:
    context_amount: float = 0.5  # template side = sqrt((w + c(w+h)) (h + c(w+h))) (SiamFC)
    # search side / template side in image pixels; None = instance_size / exemplar_size (the target has the same
    # scale in both crops, SiamFC / pysot). FEAR's tracker crops the template at 1.4 box sizes and the search
    # region at 5 (fear_template_offset 0.2, fear_search_offset 2): configs/fear_ft*.yaml use 5 / 1.4
    search_ratio: Optional[float] = None
    # crop shape: square (SiamFC / pysot: one side, sqrt((w + p)(h + p)), the target keeps its aspect ratio) or
    # box (FEAR's tracker, fear.extend_box: the region is the box grown by context_amount box widths / heights on
    # each side, (1 + 2 c) w x (1 + 2 c) h, resized to the square crop, so every target looks about square;
    # the search region is search_ratio times that region per axis). Train on the shape the tracker cuts.
    crop_shape: Literal["square", "box"] = "square"
    # channel order of every crop the network is fed (frames are read BGR by OpenCV): bgr (NanoTrack's / pysot's
    # own training order) or rgb -- set it to what the model's tracker preset feeds at tracking time
    # (TrackerConfig.swap_rb: the `nano` preset feeds RGB, as OpenCV's TrackerNano does with swapRB)
    channel_order: Literal["bgr", "rgb"] = "bgr"
    colour_strength: float = 0.1  # std of the per-channel gain / brightness jitter
    template: CropAugConfig = field(default_factory=lambda: CropAugConfig(shift=4.0, scale=0.05))
    search: CropAugConfig = field(default_factory=lambda: CropAugConfig(shift=64.0, scale=0.18, blur=0.2))
    # T_a and T_c (paper Sec. 2.3: "noise information is randomly added to T_a and T_c"): the template crop's
    # shift / scale plus image noise -- blur, Gaussian pixel noise, colour -- on top of sampling.template_noise_*
    noisy_template: CropAugConfig = field(
        default_factory=lambda: CropAugConfig(shift=4.0, scale=0.05, blur=0.3, noise=0.3, colour=1.0))


@dataclass
class LabelConfig:
    # centre: eq. 6 -- cells whose crop point lies within `radius` strides of the target centre are positive;
    # ellipse: inside an ellipse with half-axes `ellipse_scale` * (w/2, h/2) is positive;
    # iou: IoU of a target-sized box placed on the cell with the target (the ablation).
    rule: Literal["centre", "ellipse", "iou"] = "centre"
    radius: float = 2.0  # centre rule, in strides
    ignore_radius: float = 0.0  # centre rule: cells between radius and this are ignored (0 = none)
    ellipse_scale: float = 0.5
    iou_positive: float = 0.6
    iou_negative: float = 0.3
    # which cells get the regression loss: positives, or every cell whose point is inside the box
    reg_cells: Literal["positive", "inside_box"] = "positive"


@dataclass
class LossConfig:
    cls1_weight: float = 1.0  # lambda: L_cls = lambda * L_cls1 + L_cls2
    cls_weight: float = 1.0  # lambda1: L_total = lambda1 * L_cls + L_reg
    reg_weight: float = 1.0
    positive_share: float = 0.5  # CE / logistic: positives and negatives averaged separately, then mixed
    reg_scale: float = 64.0  # ltrb distances are divided by this (pixels) before the smooth-L1
    smooth_l1_beta: float = 0.11
    # L_cls2, the confidence branch (FCOS-style BCE classification; its sigmoid gates template updates):
    # target at positive cells: 1 (binary, FCOS's classification target), FCOS centerness, or the IoU of the
    # detached predicted box; 0 at every negative cell and over the whole map of a negative pair.
    conf_target: Literal["binary", "centerness", "iou"] = "binary"
    # all: every labelled cell (positives and negatives; the ignore band is excluded) -- the branch learns that
    # background and distractors are not the target; positive: only the regression cells (the old behaviour,
    # a centerness regressor that never sees a negative)
    conf_cells: Literal["all", "positive"] = "all"
    conf_positive_share: float = 0.5  # conf_cells=all: positives and negatives averaged separately, then mixed


@dataclass
class OptimConfig:
    lr_start: float = 0.005
    lr_end: float = 0.0005
    warmup_epochs: int = 0  # linear warm-up from lr_warmup to lr_start before the log decay
    lr_warmup: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0001
    epochs: int = 50
    samples_per_epoch: int = 600000  # per epoch, all processes together
    batch_size: int = 12  # per process
    freeze_backbone_epochs: int = 10
    backbone_lr_scale: float = 0.1  # backbone lr relative to the rest once unfrozen (pysot)
    frozen: list[str] = field(default_factory=list)  # parameter-name prefixes that are never trained
    grad_clip: float = 10.0  # max gradient norm (0 = off)
    # True: every BatchNorm layer stays in eval mode while training -- running statistics frozen (the published
    # ones, estimated on the original training set), affine weight/bias still trained unless frozen. False: only
    # BatchNorm layers whose parameters are all frozen stay in eval mode (pysot)
    bn_eval: bool = False


@dataclass
class InitConfig:
    # a built-in model name (e.g. "nano") or a .safetensors / checkpoint path whose weights initialise the model
    weights: Optional[str] = None
    strict: bool = False  # False: keys the source lacks (e.g. new ST / DA modules) keep their fresh init
    # arch r50: ImageNet ResNet-50 weights for the backbone (torchvision's or timm's state dict, .pth or
    # .safetensors); `dastsiam train` requires it unless `weights` is given (docs/models.md, "ImageNet")
    backbone: Optional[Path] = None


@dataclass
class RuntimeConfig:
    device: str = "auto"  # auto = cuda if available, else cpu
    workers: int = 4  # DataLoader worker processes per training process
    amp: bool = True  # mixed precision on CUDA (ignored on CPU)
    amp_dtype: Literal["float16", "bfloat16"] = "bfloat16"
    seed: int = 0
    out_dir: Path = Path("runs/experiment")
    log_every: int = 20  # steps between TensorBoard scalars
    checkpoint_keep: int = 2  # numbered epoch checkpoints kept beside last.pt (0 = only last.pt)
    checkpoint_every: int = 0  # also write last.pt every N optimiser steps (0 = only per epoch / on a stop)
    progress: bool = True  # tqdm bar (rank 0 only)
    tensorboard: bool = True  # scalars under out_dir/tensorboard (rank 0 only)
    threads: int = 0  # torch intra-op threads per process (0 = cores minus `workers`, at least 1)
    max_steps: int = 0  # stop after this many optimiser steps in total (0 = run all epochs); smoke runs


@dataclass
class ValidationConfig:
    """Tracking validation during training (:mod:`dastsiam.training.validation`): every ``every`` steps the model
    tracks ``data`` (benchmark sequences, never training data) one pass; the mean success AUC goes to
    TensorBoard (``val/auc``), the best model to ``out_dir/best.safetensors``, and training stops after
    ``patience`` validations without improvement."""

    data: list[DataSourceConfig] = field(default_factory=list)  # e.g. {kind: otb, root: ..., names: [Couple]}
    every: int = 0  # optimiser steps between validations (0 = off)
    patience: int = 0  # stop after this many validations in a row without a better AUC (0 = never)
    min_delta: float = 0.0  # an AUC must beat the best by more than this to count as better
    max_frames: int = 0  # track only the first N frames of each sequence (0 = all)
    at_start: bool = False  # also validate before the first step (the initial weights' AUC)


@dataclass
class TrainConfig:
    model: ModelConfig
    data: list[DataSourceConfig]
    name: str = "experiment"
    init: InitConfig = field(default_factory=InitConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    labels: LabelConfig = field(default_factory=LabelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)


def validate(cfg: TrainConfig, where: str = "config") -> TrainConfig:
    """Range checks the type system cannot express; raises :class:`ConfigError` naming the key."""
    checks = [
        (len(cfg.data) > 0, "data", "at least one dataset is needed"),
        (cfg.optim.epochs >= 1, "optim.epochs", "must be >= 1"),
        (cfg.optim.batch_size >= 1, "optim.batch_size", "must be >= 1"),
        (cfg.optim.samples_per_epoch >= 1, "optim.samples_per_epoch", "must be >= 1"),
        (0 < cfg.optim.lr_end <= cfg.optim.lr_start, "optim.lr_end", "must be in (0, lr_start]"),
        (0 <= cfg.optim.freeze_backbone_epochs <= cfg.optim.epochs, "optim.freeze_backbone_epochs",
         "must be in [0, epochs]"),
        (cfg.sampling.window >= 2, "sampling.window", "must be >= 2 (T_a and T_c are consecutive frames)"),
        (0 <= cfg.sampling.negative_prob <= 1, "sampling.negative_prob", "must be in [0, 1]"),
        (cfg.sampling.pair_gap is None or cfg.sampling.pair_gap >= 0, "sampling.pair_gap", "must be >= 0"),
        (cfg.sampling.min_valid_frames >= 1, "sampling.min_valid_frames", "must be >= 1"),
        (cfg.augmentation.context_amount >= 0, "augmentation.context_amount", "must be >= 0"),
        (cfg.augmentation.search_ratio is None or cfg.augmentation.search_ratio > 0, "augmentation.search_ratio",
         "must be > 0"),
        (cfg.labels.radius > 0, "labels.radius", "must be > 0"),
        (cfg.labels.iou_negative <= cfg.labels.iou_positive, "labels.iou_negative", "must be <= iou_positive"),
        (cfg.runtime.workers >= 0, "runtime.workers", "must be >= 0"),
        (cfg.runtime.checkpoint_every >= 0, "runtime.checkpoint_every", "must be >= 0"),
        (cfg.validation.every >= 0, "validation.every", "must be >= 0"),
        (cfg.validation.patience >= 0, "validation.patience", "must be >= 0"),
        (cfg.validation.every == 0 or len(cfg.validation.data) > 0, "validation.data",
         "needs at least one dataset when validation.every > 0"),
        (cfg.loss.reg_scale > 0, "loss.reg_scale", "must be > 0"),
        (0 <= cfg.loss.positive_share <= 1, "loss.positive_share", "must be in [0, 1]"),
        (0 <= cfg.loss.conf_positive_share <= 1, "loss.conf_positive_share", "must be in [0, 1]"),
    ]
    for i, source in enumerate(cfg.data):
        checks.append((source.weight > 0, f"data[{i}].weight", "must be > 0"))
    for i, source in enumerate(cfg.validation.data):
        checks.append((source.kind != "imagenet_vid", f"validation.data[{i}].kind", "must be a tracking benchmark"))
    for ok, key, message in checks:
        if not ok:
            raise ConfigError(f"{where}: {key}: {message}")
    return cfg


def load_train_config(path: str | Path) -> TrainConfig:
    """Load, type-check and range-check a training YAML."""
    return validate(load_yaml(TrainConfig, path), where=str(path))


def parse_validation_spec(spec: str) -> DataSourceConfig:
    """``KIND=PATH[:NAME,NAME...]`` -> a validation dataset entry (names restrict it to those sequences)."""
    from dastsiam.datasets import DATASET_KINDS

    kind, sep, rest = spec.partition("=")
    if not sep or kind not in DATASET_KINDS or not rest:
        raise ConfigError(f"--val {spec!r}: expected KIND=PATH[:NAME,...] with KIND one of {', '.join(DATASET_KINDS)}")
    root, names = rest, None
    head, colon, tail = rest.rpartition(":")
    if colon and head and not Path(rest).exists() and "/" not in tail:
        root, names = head, [n for n in tail.replace(" ", ",").split(",") if n]
    return DataSourceConfig(kind=kind, root=Path(root), names=names or None)


def apply_data_arguments(cfg: TrainConfig, values: list[str]) -> TrainConfig:
    """``--data`` values: plain paths replace the config's dataset roots in order; ``KIND=PATH`` entries
    replace its dataset list, each keeping the split, weight and names of the config's entry of that kind."""
    import dataclasses

    if not values:
        return cfg
    from dastsiam.datasets import DATASET_KINDS

    typed = [v.split("=", 1) for v in values if "=" in v and v.split("=", 1)[0] in DATASET_KINDS]
    if typed:
        if len(typed) != len(values):
            raise ConfigError("--data: use either KIND=PATH for every entry or plain paths for every entry")
        # each KIND=PATH takes the place of the config's next entry of that kind, keeping its split, weight and
        # names (a new kind gets the defaults: its train split, dastsiam.training.data.training_source)
        unused = list(cfg.data)
        data = []
        for kind, path in typed:
            match = next((source for source in unused if source.kind == kind), None)
            if match is None:
                data.append(DataSourceConfig(kind=kind, root=Path(path)))
            else:
                unused.remove(match)
                data.append(dataclasses.replace(match, root=Path(path)))
        return dataclasses.replace(cfg, data=data)
    if len(values) != len(cfg.data):
        raise ConfigError(f"--data: {len(values)} path(s) given but the config lists {len(cfg.data)} dataset(s); "
                          f"give one path per dataset or KIND=PATH entries")
    data = [dataclasses.replace(source, root=Path(v)) for source, v in zip(cfg.data, values)]
    return dataclasses.replace(cfg, data=data)


def resolve_train_config(path: str | Path, *, sets=(), data=(), val=(), val_every: int | None = None,
                         device: str | None = None, out_dir: str | Path | None = None, workers: int | None = None,
                         backbone: str | Path | None = None) -> TrainConfig:
    """The experiment YAML at ``path`` with ``dastsiam train``'s overrides applied, validated.

    ``sets``: ``KEY=VALUE`` overrides of any field (VALUE is YAML, ``--set``); ``data``: ``--data`` values
    (:func:`apply_data_arguments`); ``val``: ``KIND=PATH[:NAME,...]`` validation sources (replace
    ``validation.data``); the rest override ``validation.every``, ``runtime.device/out_dir/workers`` and
    ``init.backbone``. Errors are :class:`ConfigError` naming the override (in ``dastsiam train``'s flags).
    """
    import dataclasses

    import yaml

    from dastsiam.config import parse_yaml, replace_path

    cfg = load_train_config(path)
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        try:
            cfg = replace_path(cfg, key.strip(), parse_yaml(value))
        except (ConfigError, yaml.YAMLError) as exc:
            raise ConfigError(f"--set {item}: {exc}") from None
    cfg = apply_data_arguments(cfg, list(data))
    if val:
        cfg = dataclasses.replace(cfg, validation=dataclasses.replace(
            cfg.validation, data=[parse_validation_spec(v) for v in val]))
    if val_every is not None:
        cfg = replace_path(cfg, "validation.every", val_every)
    if device:
        cfg = replace_path(cfg, "runtime.device", device)
    if out_dir:
        cfg = replace_path(cfg, "runtime.out_dir", str(out_dir))
    if workers is not None:
        cfg = replace_path(cfg, "runtime.workers", workers)
    if backbone is not None:
        cfg = replace_path(cfg, "init.backbone", str(backbone))
    return validate(cfg, where=str(path))
