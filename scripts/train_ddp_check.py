"""DDP check: train the smoke config for a few steps in N processes and verify the replicas stay equal.

    torchrun --standalone --nproc_per_node 2 scripts/train_ddp_check.py --data ../shared/data/train

Runs on CPU with gloo (or on GPUs with NCCL via --device cuda). Crosses the backbone-unfreezing boundary, so
the DDP wrapper is rebuilt once. Every rank compares its parameters with rank 0's after training and checks
that the ranks trained on different samples; exits 1 (printing the first differing tensor) otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import torch
import torch.distributed as dist

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/train")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "smoke.yaml")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args()

    from dastsiam.config import replace_path
    from dastsiam.training.config import load_train_config
    from dastsiam.training.trainer import Trainer

    cfg = load_train_config(args.config)
    cfg = dataclasses.replace(cfg, data=[dataclasses.replace(cfg.data[0], root=args.data)])
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="dastsiam_ddp_"))
    # 2 epochs x 2 steps per process, backbone frozen in the first: the DDP wrapper is rebuilt once
    for key, value in [("runtime.out_dir", str(out_dir)), ("runtime.device", args.device),
                       ("runtime.tensorboard", False), ("optim.epochs", 2), ("optim.freeze_backbone_epochs", 1),
                       ("optim.samples_per_epoch", 8), ("sampling.reseed_each_epoch", True)]:
        cfg = replace_path(cfg, key, value)

    first_inputs = {}

    def remember(trainer, step, values):
        first_inputs.setdefault("loss", values["total"])

    trainer = Trainer(cfg, on_step=remember)
    result = trainer.fit()
    rank, world = trainer.dist.rank, trainer.dist.world_size
    if world < 2:
        print("run me with torchrun --nproc_per_node 2 (or more)")
        return 1

    failures = []
    for name, tensor in trainer.model.state_dict().items():
        reference = tensor.detach().clone()
        dist.broadcast(reference, src=0)
        if not torch.equal(reference, tensor):
            failures.append(f"rank {rank}: {name} differs from rank 0 by {(reference - tensor).abs().max():.3g}")
    losses = [None] * world
    dist.all_gather_object(losses, first_inputs["loss"])
    if len(set(losses)) != world:
        failures.append(f"ranks saw identical first batches (losses {losses}): data is not sharded")
    counts = [None] * world
    dist.all_gather_object(counts, result.global_step)
    if len(set(counts)) != 1:
        failures.append(f"ranks ran different step counts: {counts}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
    all_ok = torch.tensor([0 if failures else 1])
    dist.all_reduce(all_ok, op=dist.ReduceOp.MIN)
    if rank == 0 and all_ok.item():
        print(f"DDP check passed: {world} replicas equal after {result.global_step} steps "
              f"({len(trainer.model.state_dict())} tensors); first-step losses {losses}; checkpoint {result.checkpoint}")
    dist.destroy_process_group()
    return 0 if all_ok.item() else 1


if __name__ == "__main__":
    sys.exit(main())
