"""Fine-tune with validation and early stopping, validating with the onnxruntime back end (the experiments behind
docs/ablation.md).

    python scripts/finetune_validated.py configs/nano_ft.yaml --out runs/ft_a [--set key=value ...]
        [--val-every N] [--patience N] [--no-initial-validation] [--bn-eval] [--rgb] [--resume]

The recipe lives in the config: ``dastsiam train configs/nano_ft.yaml`` alone trains it, validating with its
built-in hook (torch back end, same sequences, same preset). This script runs the same
:class:`dastsiam.training.trainer.Trainer` on the same config, but does the validation itself: every
``validation.every`` steps (and at step 0 unless ``--no-initial-validation``) it writes the weights to
``OUT/step_XXXXX.safetensors``, tracks the validation sequences with them (``benchmarks/validate.py``: OTB x5,
VOT bag one-pass, UAV123@10fps wakeboard7; onnxruntime back end, the model's own tracker preset plus
``--tracker-set`` overrides), logs the mean AUC to TensorBoard (``val/auc``) and ``OUT/validation.json``, copies
the best to ``OUT/best.safetensors`` and stops after ``validation.patience`` validations without a better mean AUC.

Every flag is an override of a config field, recorded in the resolved ``OUT/config.yaml``: ``--val-every N`` =
``validation.every``, ``--patience N`` = ``validation.patience``, ``--no-initial-validation`` =
``validation.at_start: false`` (without it this script validates step 0), ``--rgb`` =
``augmentation.channel_order: rgb`` (the crops the ``nano`` tracker preset feeds, OpenCV's ``swapRB``),
``--bn-eval`` = ``optim.bn_eval: true`` (every BatchNorm's running statistics frozen, affine parameters still
learn). ``configs/nano_ft.yaml`` sets all of them already.
"""

from __future__ import annotations

import argparse
import dataclasses
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
    parser.add_argument("--val-every", type=int, metavar="N",
                        help="validate every N steps (overrides validation.every; default: the config's)")
    parser.add_argument("--patience", type=int, metavar="N",
                        help="stop after N validations without a better mean AUC (overrides validation.patience)")
    parser.add_argument("--bn-eval", action="store_true",
                        help="keep all BatchNorm statistics frozen (= --set optim.bn_eval=true)")
    parser.add_argument("--rgb", action="store_true",
                        help="feed the network RGB crops, as the `nano` tracker preset does (swap_rb, OpenCV's "
                             "TrackerNano) (= --set augmentation.channel_order=rgb)")
    parser.add_argument("--no-initial-validation", action="store_true",
                        help="skip step 0 (the zero-initialised modules make it equal the untrained model) "
                             "(= --set validation.at_start=false; without it step 0 is validated)")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("DASTSIAM_CACHE", str(args.out / "cache"))
    import torch  # noqa: F401
    from torch.utils.tensorboard import SummaryWriter

    import validate
    from dastsiam.models.registry import save_weights
    from dastsiam.training import trainer as trainer_module
    from dastsiam.training.config import resolve_train_config  # same --set syntax as dastsiam train

    sets = list(args.overrides)
    # the script's flags are overrides of config fields, applied after --set (as before, they win)
    for flag, item in [(args.bn_eval, "optim.bn_eval=true"), (args.rgb, "augmentation.channel_order=rgb")]:
        if flag:
            sets.append(item)
    if args.patience is not None:
        sets.append(f"validation.patience={args.patience}")
    sets.append(f"validation.at_start={'false' if args.no_initial_validation else 'true'}")
    cfg = resolve_train_config(args.config, sets=sets, out_dir=args.out)  # exactly `dastsiam train CONFIG --set ...`
    configured = cfg.validation.every > 0  # a config without a validation section: the script's old defaults
    val_every = args.val_every or (cfg.validation.every if configured else 100)
    patience = args.patience if args.patience is not None else (cfg.validation.patience if configured else 3)
    if cfg.validation.data:  # recorded in the resolved config.yaml (without data the config cannot hold it)
        cfg = dataclasses.replace(cfg, validation=dataclasses.replace(cfg.validation, every=val_every))

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
            "bn_eval": str(cfg.optim.bn_eval), "rgb": str(cfg.augmentation.channel_order == "rgb")}

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
        if patience and state["since_best"] >= patience:
            print(f"[validate] no better mean AUC for {patience} validations: stopping", flush=True)
            trainer.request_stop()

    def on_step(trainer, step: int, values: dict) -> None:
        if step % val_every == 0:
            validate_now(trainer, step)

    # the validation above replaces the trainer's built-in one (same sequences, onnxruntime back end)
    trainer = trainer_module.Trainer(cfg, resume=args.resume, on_step=on_step, builtin_validation=False)
    if trainer.global_step == 0 and cfg.validation.at_start:
        validate_now(trainer, 0)
    if patience and state["since_best"] >= patience:
        print("[validate] already stopped early (patience reached)")
        return 0
    result = trainer.fit()
    if not result.interrupted or (patience and state["since_best"] >= patience):
        validate_now(trainer, trainer.global_step)
    print(f"best mean AUC {state['best']:.4f}; weights: {args.out / 'best.safetensors'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
