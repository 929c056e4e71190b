"""Fine-tune with validation and early stopping (the experiments behind docs/ablation.md).

    python scripts/finetune_validated.py configs/nano_ft.yaml --out runs/ft_a [--set key=value ...]
        [--val-every 100] [--patience 3] [--bn-eval] [--resume]

Runs :class:`dastsiam.training.trainer.Trainer` on the config; every ``--val-every`` steps (and at step 0) it
writes the weights to ``OUT/step_XXXXX.safetensors``, tracks the validation sequences with them
(``benchmarks/validate.py``: OTB x5, VOT bag one-pass, UAV123@10fps wakeboard7; onnxruntime back end, the
model's own tracker preset plus ``--tracker-set`` overrides), logs the mean AUC to TensorBoard
(``val/auc``) and ``OUT/validation.json``, copies the best to ``OUT/best.safetensors`` and stops after
``--patience`` validations without a better mean AUC.

``--rgb`` feeds RGB crops, which is what the ``nano`` tracker preset feeds (OpenCV's ``swapRB``); without it the
trainer's crops are BGR (NanoTrack's own training order) and the validation should use ``--tracker-set
swap_rb=false``. ``--bn-eval`` keeps every BatchNorm layer in eval mode (running statistics frozen, trained affine
parameters still learn): the published statistics were estimated on the original training set and batch 8
estimates on a 46-video set are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))

from dastsiam.runtime import prepare_environment  # noqa: E402

prepare_environment()


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="training config override (dotted key), repeatable")
    parser.add_argument("--tracker-set", action="append", default=[], metavar="KEY=VALUE",
                        help="TrackerConfig override used for validation, repeatable")
    parser.add_argument("--val-every", type=int, default=100)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--bn-eval", action="store_true", help="keep all BatchNorm statistics frozen")
    parser.add_argument("--rgb", action="store_true",
                        help="feed the network RGB crops, as the `nano` tracker preset does (swap_rb, OpenCV's "
                             "TrackerNano); the trainer's crops are BGR")
    parser.add_argument("--no-initial-validation", action="store_true",
                        help="skip step 0 (the zero-initialised modules make it equal the untrained model)")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("DASTSIAM_CACHE", str(args.out / "cache"))
    import torch  # noqa: F401
    from torch.utils.tensorboard import SummaryWriter

    import validate
    from dastsiam.cli.train import build_config  # same --set syntax as dastsiam train
    from dastsiam.models.registry import save_weights
    from dastsiam.training import trainer as trainer_module

    from dastsiam.cli.train import add_parser as add_train_parser

    train_parser = argparse.ArgumentParser(prog="dastsiam")
    add_train_parser(train_parser.add_subparsers(dest="command"))
    train_argv = ["train", str(args.config), "--out-dir", str(args.out)]
    for item in args.overrides:
        train_argv += ["--set", item]
    cfg = build_config(train_parser.parse_args(train_argv))  # exactly `dastsiam train CONFIG --set ...`

    if args.bn_eval:
        original = trainer_module.set_train_mode

        def set_train_mode_bn_eval(model):
            original(model)
            for module in model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.eval()

        trainer_module.set_train_mode = set_train_mode_bn_eval

    if args.rgb:
        from dastsiam.training import data as data_module

        bgr_crop = data_module.augmented_crop

        def rgb_crop(*a, **k):
            crop, box = bgr_crop(*a, **k)
            return crop[..., ::-1], box

        data_module.augmented_crop = rgb_crop  # DataLoader workers fork after this: they get it too

    args.out.mkdir(parents=True, exist_ok=True)
    log_path = args.out / "validation.json"
    history = json.loads(log_path.read_text()) if (args.resume and log_path.is_file()) else []
    writer = SummaryWriter(str(args.out / "tensorboard" / "validation"))
    tracker_overrides = "".join(f"+{kv}" for kv in args.tracker_set)
    state = {"best": max((h["auc"] for h in history), default=-1.0), "since_best": 0}
    if history:
        best_step = max(history, key=lambda h: h["auc"])["step"]
        state["since_best"] = sum(1 for h in history if h["step"] > best_step)
    meta = {"config": args.config.name, "overrides": " ".join(args.overrides), "commit": git_commit(),
            "bn_eval": str(args.bn_eval), "rgb": str(args.rgb)}

    def validate_now(trainer, step: int) -> None:
        if any(h["step"] == step for h in history):
            return
        path = args.out / f"step_{step:05d}.safetensors"
        save_weights(trainer.model, cfg.model, path, extra_metadata={**meta, "step": step})
        arm = validate.parse_arm(f"step{step}={path}{tracker_overrides}")
        tick = time.perf_counter()
        validate.run_arm(arm, args.out / "val_results", "onnx", validate.DATA, workers=1)
        scores = validate.with_mean(validate.score_arm(arm, args.out / "val_results", validate.DATA))
        mean = scores["mean"]
        entry = {"step": step, "auc": mean["auc"], "precision": mean["precision"],
                 "per_sequence": {k: v["auc"] for k, v in scores.items() if k != "mean"},
                 "seconds": round(time.perf_counter() - tick, 1), "time": time.strftime("%H:%M:%S")}
        history.append(entry)
        log_path.write_text(json.dumps(history, indent=1) + "\n")
        writer.add_scalar("val/auc", mean["auc"], step)
        writer.add_scalar("val/precision", mean["precision"], step)
        writer.flush()
        if mean["auc"] > state["best"]:
            state["best"], state["since_best"] = mean["auc"], 0
            shutil.copyfile(path, args.out / "best.safetensors")
        else:
            state["since_best"] += 1
        print(f"[validate] step {step}: mean AUC {mean['auc']:.4f} precision {mean['precision']:.4f} "
              f"(best {state['best']:.4f}, {entry['seconds']} s)", flush=True)
        if state["since_best"] >= args.patience:
            print(f"[validate] no better mean AUC for {args.patience} validations: stopping", flush=True)
            trainer.request_stop()

    def on_step(trainer, step: int, values: dict) -> None:
        if step % args.val_every == 0:
            validate_now(trainer, step)

    trainer = trainer_module.Trainer(cfg, resume=args.resume, on_step=on_step)
    if trainer.global_step == 0 and not args.no_initial_validation:
        validate_now(trainer, 0)
    if state["since_best"] >= args.patience:
        print("[validate] already stopped early (patience reached)")
        return 0
    result = trainer.fit()
    if not result.interrupted or state["since_best"] >= args.patience:
        validate_now(trainer, trainer.global_step)
    print(f"best mean AUC {state['best']:.4f}; weights: {args.out / 'best.safetensors'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
