"""Training throughput in samples/s: the data pipeline alone, the model step alone, and both together.

    python benchmarks/train_speed.py                      # this CPU, nano and r50, shared data if present
    python benchmarks/train_speed.py --device cuda        # GPU numbers for r50 and nano in about 2 minutes
    python benchmarks/train_speed.py --archs nano --workers 2 --batch 8 --steps 5

* data only: batches from the DataLoader (workers decode, crop, augment and assign labels), nothing else;
* model only: forward + loss + backward + SGD step on one batch kept on the device (AMP on CUDA);
* end to end: the trainer's own step fed by the DataLoader, as ``dastsiam train`` runs it.

Models: r50 = the paper's DASTSiam config (configs/dastsiam_r50.yaml, ST + DA), nano = configs/nano_st_da.yaml
(backbone frozen, as that config trains it). Data: --data (a folder in GOT-10k layout, like the shared
training set ``shared/data/train``, or in UAV123 layout), else the shared training set beside the checkout
(never the validation pool), else synthetic 1280x720 JPEG sequences in a temporary folder (--synthetic forces
them).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))  # run from a checkout without installing

# passive OpenMP waiting must be set before torch starts (dastsiam/runtime.py): with OpenMP's default
# busy-waiting, torch's idle threads take the cores from the DataLoader workers (1.9 vs 21 samples/s here)
from dastsiam.runtime import configure_torch_threads, cpu_count, prepare_environment  # noqa: E402

prepare_environment()

import numpy as np  # noqa: E402
import torch  # noqa: E402
SHARED = REPO.parent / "shared" / "data" / "train"  # the shared training set (GOT-10k layout), not the validation pool
ARCH_CONFIGS = {"r50": "dastsiam_r50.yaml", "nano": "nano_st_da.yaml"}


def synthetic_uav(root: Path, sequences: int = 3, frames: int = 60, size=(720, 1280)) -> Path:
    """UAV123-layout sequences of smooth random scenes with a moving textured box (JPEG at natural entropy)."""
    import cv2

    rng = np.random.default_rng(0)
    (root / "anno").mkdir(parents=True, exist_ok=True)
    for s in range(sequences):
        seq = root / "data_seq" / f"synthetic{s}"
        seq.mkdir(parents=True, exist_ok=True)
        background = cv2.resize(rng.integers(0, 255, (18, 32, 3), dtype=np.uint8), size[::-1],
                                interpolation=cv2.INTER_CUBIC)
        patch = cv2.resize(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8), (120, 90), interpolation=cv2.INTER_NEAREST)
        rows = []
        for f in range(frames):
            frame = background.copy()
            x, y = 200 + 8 * f + 40 * s, 150 + 3 * f
            frame[y:y + 90, x:x + 120] = patch
            cv2.imwrite(str(seq / f"{f + 1:06d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])
            rows.append(f"{x + 1},{y + 1},120,90")  # UAV123 files are 1-based
        (root / "anno" / f"synthetic{s}.txt").write_text("\n".join(rows) + "\n")
    return root


def make_config(arch: str, data: Path, args, out_dir: Path):
    from dastsiam.config import replace_path
    from dastsiam.training.config import DataSourceConfig, load_train_config

    cfg = load_train_config(REPO / "configs" / ARCH_CONFIGS[arch])
    kind = "uav123" if (data / "anno").is_dir() else "got10k"  # the synthetic sequences are in UAV123 layout
    cfg = dataclasses.replace(cfg, data=[DataSourceConfig(kind=kind, root=data)])
    overrides = {
        "runtime.device": args.device, "runtime.workers": args.workers, "runtime.out_dir": str(out_dir),
        "runtime.tensorboard": False, "runtime.progress": False, "runtime.amp": not args.no_amp,
        "optim.samples_per_epoch": 10**7, "runtime.threads": args.threads,
    }
    if args.batch:
        overrides["optim.batch_size"] = args.batch
    for key, value in overrides.items():
        cfg = replace_path(cfg, key, value)
    return cfg


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(arch: str, data: Path, args) -> dict:
    from dastsiam.training.data import EpochSampler, make_loader
    from dastsiam.training.schedule import set_train_mode
    from dastsiam.training.trainer import Trainer

    with tempfile.TemporaryDirectory() as out_dir:
        cfg = make_config(arch, data, args, Path(out_dir))
        trainer = Trainer(cfg)
        batch_size = cfg.optim.batch_size
        total = args.warmup + args.steps
        net = trainer._prepare_epoch(0 if arch == "nano" else cfg.optim.freeze_backbone_epochs)
        # as the trainer: frozen modules (BatchNorm statistics) stay in eval mode, all BatchNorm with optim.bn_eval
        set_train_mode(trainer.model, trainer.cfg.optim.bn_eval)

        def loader():
            sampler = EpochSampler(0, total, batch_size, cfg.optim.samples_per_epoch)
            return make_loader(trainer.dataset, sampler, cfg, pin_memory=trainer.device.type == "cuda")

        # data pipeline alone
        it = iter(loader())
        for _ in range(args.warmup):
            first = next(it)
        start = time.perf_counter()
        for _ in range(args.steps):
            next(it)
        data_rate = args.steps * batch_size / (time.perf_counter() - start)
        del it

        # model step alone, on one batch that stays on the device
        fixed = {k: v.to(trainer.device) for k, v in first.items()}
        for _ in range(args.warmup):
            trainer.train_step(net, fixed)
        sync(trainer.device)
        times = []
        cpu_start = time.process_time()
        for _ in range(args.steps):
            tick = time.perf_counter()
            trainer.train_step(net, fixed)
            sync(trainer.device)
            times.append(time.perf_counter() - tick)
        model_rate = batch_size / statistics.median(times)
        # samples per CPU-second of this process: what the model step would reach on a core of its own (on a
        # shared machine the wall-clock rates above fall with the load; this one hardly does)
        model_cpu_rate = args.steps * batch_size / max(time.process_time() - cpu_start, 1e-9)

        # both, as the trainer runs them
        it = iter(loader())
        for _ in range(args.warmup):
            trainer.train_step(net, next(it))
        sync(trainer.device)
        start = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step(net, next(it))
        sync(trainer.device)
        e2e_rate = args.steps * batch_size / (time.perf_counter() - start)
        del it
        memory = torch.cuda.max_memory_allocated(trainer.device) / 2**30 if trainer.device.type == "cuda" else float("nan")
        return {"arch": arch, "device": str(trainer.device), "batch": batch_size, "workers": cfg.runtime.workers,
                "amp": trainer.use_amp, "data": data_rate, "model": model_rate, "model_cpu": model_cpu_rate, "e2e": e2e_rate, "gpu_gib": memory}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--archs", nargs="+", default=["nano", "r50"], choices=sorted(ARCH_CONFIGS))
    parser.add_argument("--workers", type=int, default=min(8, cpu_count()))
    parser.add_argument("--batch", type=int, default=0, help="per-step batch (default: the config's)")
    parser.add_argument("--steps", type=int, default=0, help="timed steps per measurement (default 20 GPU / 10 CPU)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--data", type=Path, default=None,
                        help="a training folder in GOT-10k layout (default: the shared train/) or UAV123 layout")
    parser.add_argument("--synthetic", action="store_true", help="use generated 1280x720 sequences")
    parser.add_argument("--no-amp", action="store_true")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0 = the trainer's default: cores minus loader workers)")
    args = parser.parse_args()
    if not args.steps:
        args.steps = 20 if args.device.startswith("cuda") else 10
    if args.device == "cpu" and not args.batch:
        args.batch = 4
    configure_torch_threads(args.threads or None, args.workers)

    tmp = None
    data = args.data
    if data is None and not args.synthetic and SHARED.is_dir():
        data = SHARED
    if data is None:
        tmp = tempfile.TemporaryDirectory()
        # generated in a spawned process: OpenCV threads used here before the DataLoader forks its workers
        # can leave a worker deadlocked inside OpenCV
        import concurrent.futures
        import multiprocessing

        with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            data = pool.submit(synthetic_uav, Path(tmp.name)).result()
    print(f"data: {data}  device: {args.device}  workers: {args.workers}  torch {torch.__version__}"
          + (f"  GPU: {torch.cuda.get_device_name()}" if args.device.startswith("cuda") else f"  threads: {torch.get_num_threads()}"))
    print(f"{'arch':<6}{'batch':>6}{'amp':>6}{'data only':>12}{'model only':>12}{'end to end':>12}{'GPU GiB':>9}"
          f"{'model/CPU-s':>13}   (samples/s; the last: per CPU-second of the training process)")
    for arch in args.archs:
        r = measure(arch, data, args)
        print(f"{r['arch']:<6}{r['batch']:>6}{str(r['amp']):>6}{r['data']:>12.1f}{r['model']:>12.1f}{r['e2e']:>12.1f}"
              f"{r['gpu_gib']:>9.2f}{r['model_cpu']:>13.1f}", flush=True)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
