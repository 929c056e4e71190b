"""The training data pipeline: datasets in their native layouts -> augmented crops + targets, in DataLoader
worker processes.

A sample is a pure function of ``(seed, global index)`` (its own ``numpy`` generator), so the samples do not
depend on the number of workers or processes, and a resumed run sees exactly the samples it would have seen.
:class:`EpochSampler` hands out the global indices of one epoch, sharded across DDP ranks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from dastsiam.config import ConfigError
from dastsiam.errors import DastsiamError, InputError
from dastsiam.models.geometry import OutputGeometry
from dastsiam.sequence import Sequence
from dastsiam.training.augment import augmented_crop, jitter_box, template_region
from dastsiam.training.config import DataSourceConfig, TrainConfig
from dastsiam.training.labels import assign_targets
from dastsiam.training.sampling import FrameChoice, sample_image, sample_pair, sample_triplet, usable_frames


@dataclass
class TrackSource:
    """The usable part of one sequence, in a compact, picklable form (sent to every worker)."""

    name: str
    frames: np.ndarray  # (N,) str paths
    boxes: np.ndarray  # (N, 4) float64
    usable: np.ndarray  # sorted usable frame indices


#: benchmarks with an official train/test division: the split training reads when the config names none
TRAIN_SPLITS = {"lasot": "train", "got10k": "train", "imagenet_vid": "train"}
#: splits that training never reads (their videos are the benchmarks' test sets)
TEST_SPLITS = {"test", "testing"}


def training_source(source: DataSourceConfig, key: str) -> tuple[DataSourceConfig, str]:
    """``source`` with the split training reads, and a label for the start-up line.

    Whatever the spelling (config, ``--data KIND=PATH``, ``--data PATH``, ``--set``): a benchmark with a
    train/test division reads its train split unless the config names another; a test split is refused, and so
    is a LaSOT root without ``training_set.txt`` (the reader would otherwise load all 1400 videos, the 280 test
    videos included), and a GOT-10k folder named ``test``. Raises :class:`ConfigError` / :class:`InputError`
    naming ``key``.
    """
    import dataclasses

    split = source.split
    if split is not None and split.lower() in TEST_SPLITS:
        raise ConfigError(f"{key}: {source.kind} split {split!r} is a test split; training reads train splits only")
    if source.kind == "lasot":
        split = split or "train"
        from dastsiam.datasets.lasot import _SPLIT_FILES

        list_file = Path(source.root) / _SPLIT_FILES.get(split, "training_set.txt")
        if Path(source.root).is_dir() and not list_file.is_file():
            raise InputError(f"{key} (lasot): {list_file} not found: a LaSOT root needs its split lists "
                             f"(training_set.txt, testing_set.txt) so the 280 test videos stay out of training")
        return dataclasses.replace(source, split=split), split
    if source.kind == "got10k":
        root = Path(source.root)
        if (root / "list.txt").is_file() and split is None:  # a split folder itself (GOT-10k's train/)
            if root.name.lower() in TEST_SPLITS:
                raise ConfigError(f"{key}: {root} is GOT-10k's test split; training reads train splits only")
            return source, root.name
        split = split or "train"
        return dataclasses.replace(source, split=split), split
    if source.kind in TRAIN_SPLITS:
        split = split or TRAIN_SPLITS[source.kind]
        return dataclasses.replace(source, split=split), split
    return source, split or "all"


def load_sources(cfg: TrainConfig, report=None) -> list[list[TrackSource]]:
    """Read every configured dataset with :func:`dastsiam.datasets.load_dataset` (train splits only:
    :func:`training_source`) and keep the sequences with enough usable frames. Raises :class:`InputError`
    naming the dataset when nothing usable is left. ``report(line)`` receives one line per dataset:
    ``data[0] lasot (train): 1120 videos (/data/LaSOT)``."""
    out = []
    for i, configured in enumerate(cfg.data):
        source, label = training_source(configured, f"data[{i}]")
        sequences = read_source(source, f"data[{i}]")
        tracks = sources_from_sequences(sequences, cfg)
        if report is not None:
            stills = sum(len(t.usable) < 2 for t in tracks)
            videos = len(tracks) - stills
            parts = [f"{videos} video{'s' if videos != 1 else ''}"] if videos or not stills else []
            parts += [f"{stills} still image{'s' if stills != 1 else ''}"] if stills else []
            what = " + ".join(parts)
            report(f"data[{i}] {source.kind} ({label}): {what} ({source.root})")
        if not tracks:
            need = max(cfg.sampling.min_valid_frames, 1 if cfg.sampling.image_pairs else 2)
            raise InputError(
                f"data[{i}] ({source.kind}) {source.root}: no sequence with at least {need} usable "
                f"frame{'s' if need > 1 else ''} ({len(sequences)} sequences read; frames are usable when the "
                f"target is present and at least sampling.min_target_size px)"
            )
        out.append(tracks)
    return out


def read_source(source: DataSourceConfig, key: str) -> list[Sequence]:
    """The sequences of one configured dataset (:func:`dastsiam.datasets.load_dataset`); a missing folder or an
    unreadable file is an :class:`InputError` naming the config ``key`` (``data[0]``, ``validation.data[1]``)."""
    from dastsiam.datasets import load_dataset

    if not source.root.exists():
        raise InputError(f"{key} ({source.kind}): dataset folder {source.root} does not exist")
    try:
        return load_dataset(source.kind, source.root, split=source.split, names=source.names)
    except (DastsiamError, ConfigError):
        raise
    except (OSError, ValueError) as exc:
        raise InputError(f"{key} ({source.kind}) {source.root}: {exc}") from None


def sources_from_sequences(sequences: list[Sequence], cfg: TrainConfig) -> list[TrackSource]:
    """The sequences with at least ``sampling.min_valid_frames`` usable frames; one with a single usable frame
    is kept as an image-pair source when ``sampling.image_pairs`` (else it needs 2 for triplets / pairs)."""
    need = max(cfg.sampling.min_valid_frames, 1 if cfg.sampling.image_pairs else 2)
    tracks = []
    for seq in sequences:
        usable = usable_frames(seq, cfg.sampling.min_target_size, cfg.sampling.max_aspect_ratio)
        if len(usable) >= need:
            tracks.append(TrackSource(seq.name, np.array([str(f) for f in seq.frames]), seq.ground_truth, usable))
    return tracks


def dataset_shares(sources: list[DataSourceConfig], total: int) -> np.ndarray:
    """Probability of drawing from each dataset: ``num_samples`` where given, the rest split by ``weight``."""
    fixed = np.array([s.num_samples or 0 for s in sources], dtype=np.float64)
    free = np.array([s.weight if s.num_samples is None else 0.0 for s in sources], dtype=np.float64)
    remaining = max(total - fixed.sum(), 0.0)
    counts = fixed + (free / free.sum() * remaining if free.sum() > 0 else 0.0)
    if counts.sum() <= 0:
        counts = np.ones(len(sources))
    return counts / counts.sum()


@dataclass
class SamplePlan:
    """The frames one training sample is made of (:meth:`TrainingSet.plan`)."""

    track: TrackSource  # the templates' sequence
    choice: FrameChoice  # template frames (and the search frame of a positive pair) in ``track``
    search_track: TrackSource  # ``track``, or another sequence for a negative pair
    search_frame: int
    negative: bool  # the search crop shows another sequence's object: every cell negative
    image: bool  # ``track`` has a single usable frame (a still photo): an image pair


class TrainingSet(Dataset):
    """Index -> one training sample (a dict of tensors), deterministic in ``(seed, index)``.

    Keys: ``z_i`` (and ``z_a``, ``z_c`` in triplet mode) ``(3, E, E)`` and ``x`` ``(3, I, I)`` uint8 crops
    (BGR, or RGB with ``augmentation.channel_order: rgb``);
    ``cls`` ``(S, S)``, ``reg`` ``(4, S, S)``, ``reg_weight`` and ``centerness`` ``(S, S)`` float32 targets;
    ``box`` ``(4,)`` the target in search-crop pixels (NaN for a negative pair).
    """

    def __init__(self, sources: list[list[TrackSource]], shares: np.ndarray, geometry: OutputGeometry,
                 cfg: TrainConfig, length: int):
        self.sources = sources
        self.shares = np.asarray(shares, dtype=np.float64)
        self.geometry = geometry
        self.cfg = cfg
        self.length = length

    def __len__(self) -> int:
        return self.length

    def _pick_track(self, rng: np.random.Generator) -> TrackSource:
        dataset = self.sources[int(rng.choice(len(self.sources), p=self.shares))]
        return dataset[int(rng.integers(len(dataset)))]

    def plan(self, index: int) -> tuple["SamplePlan", np.random.Generator]:
        """Which frames sample ``index`` is cut from (no pixels read), and the generator, positioned after the
        plan, that the crops' augmentation continues with."""
        cfg = self.cfg
        rng = np.random.default_rng([cfg.runtime.seed, int(index)])
        track = self._pick_track(rng)
        image = len(track.usable) < 2
        if image:  # a still image: template(s) and search from the same frame
            choice = sample_image(track.usable, cfg.sampling.mode == "triplet", rng)
        elif cfg.sampling.mode == "triplet":
            choice = sample_triplet(track.usable, cfg.sampling.window, rng, cfg.sampling.time_order)
        else:
            gap = cfg.sampling.pair_gap if cfg.sampling.pair_gap is not None else cfg.sampling.window - 1
            choice = sample_pair(track.usable, gap, rng, cfg.sampling.time_order)
        search_track, search_frame, negative = track, choice.search, False
        if cfg.sampling.negative_prob > 0 and rng.random() < cfg.sampling.negative_prob:
            other = self._pick_track(rng)
            if other is not track:
                search_track, search_frame, negative = other, int(rng.choice(other.usable)), True
        return SamplePlan(track, choice, search_track, search_frame, negative, image), rng

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        cfg, aug, geo = self.cfg, self.cfg.augmentation, self.geometry
        plan, rng = self.plan(index)
        track, choice = plan.track, plan.choice

        sample = {}

        def template(frame: int, noisy: bool) -> torch.Tensor:
            box = track.boxes[frame]
            if noisy:
                box = jitter_box(box, cfg.sampling.template_noise_shift, cfg.sampling.template_noise_scale, rng)
            region = template_region(box, aug.context_amount, aug.crop_shape)
            crop, _ = augmented_crop(track.frames[frame], box, region, geo.exemplar_size,
                                     aug.noisy_template if noisy else aug.template, aug.colour_strength, rng)
            return _to_tensor(crop, aug.channel_order)

        sample["z_i"] = template(choice.initial, noisy=False)
        if choice.accumulated is not None:
            sample["z_a"] = template(choice.accumulated, noisy=True)
            sample["z_c"] = template(choice.current, noisy=True)

        search_track, search_frame, negative = plan.search_track, plan.search_frame, plan.negative
        box = search_track.boxes[search_frame]
        # the search crop keeps the template's scale: side_x = side_z * I / E (SiamFC), unless the tracker crops the
        # search region wider than that (augmentation.search_ratio: FEAR's 5 box sizes vs its 1.4-size template)
        ratio = aug.search_ratio if aug.search_ratio is not None else geo.instance_size / geo.exemplar_size
        region = template_region(box, aug.context_amount, aug.crop_shape) * ratio
        crop, box_in_crop = augmented_crop(search_track.frames[search_frame], box, region, geo.instance_size,
                                           aug.search, aug.colour_strength, rng)
        sample["x"] = _to_tensor(crop, aug.channel_order)
        targets = assign_targets(None if negative else box_in_crop, geo, cfg.labels)
        sample["cls"] = torch.from_numpy(targets.cls)
        sample["reg"] = torch.from_numpy(targets.reg)
        sample["reg_weight"] = torch.from_numpy(targets.reg_weight)
        sample["centerness"] = torch.from_numpy(targets.centerness)
        sample["box"] = torch.from_numpy(
            np.full(4, np.nan, np.float32) if negative else box_in_crop.astype(np.float32))
        return sample


def _to_tensor(crop: np.ndarray, channel_order: str) -> torch.Tensor:
    """(H, W, 3) BGR crop -> (3, H, W) uint8 tensor in ``augmentation.channel_order`` (the augmentation, colour
    jitter included, runs in BGR either way; "rgb" only reverses the channels at the end)."""
    if channel_order == "rgb":
        crop = crop[..., ::-1]
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))


class EpochSampler(Sampler[int]):
    """Global sample indices of one epoch for one rank: ``steps * batch_size`` of them, starting after
    ``skip_steps`` already-trained steps (resuming mid-epoch). Rank ``r`` of ``W`` takes every ``W``-th index."""

    def __init__(self, epoch: int, steps: int, batch_size: int, samples_per_epoch: int, rank: int = 0,
                 world_size: int = 1, skip_steps: int = 0, reseed_each_epoch: bool = True):
        base = epoch * samples_per_epoch if reseed_each_epoch else 0
        positions = np.arange(skip_steps * batch_size, steps * batch_size)
        self.indices = (base + rank + world_size * positions).tolist()

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def steps_per_epoch(cfg: TrainConfig, world_size: int) -> int:
    return max(cfg.optim.samples_per_epoch // (cfg.optim.batch_size * world_size), 1)


def make_loader(dataset: TrainingSet, sampler: EpochSampler, cfg: TrainConfig, pin_memory: bool) -> DataLoader:
    workers = cfg.runtime.workers
    if workers > 0:
        _quiet_opencv_threads_before_fork()
    return DataLoader(
        dataset,
        batch_size=cfg.optim.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=pin_memory,
        drop_last=False,
        persistent_workers=False,
        prefetch_factor=4 if workers > 0 else None,
        worker_init_fn=_worker_init,
        # samples are pure functions of (seed, index); a private generator keeps the loader from drawing its
        # worker base seed from torch's global generator, whose state (dropout) a checkpoint must capture
        # exactly for a resumed run to be bit-identical
        generator=torch.Generator().manual_seed(cfg.runtime.seed),
    )


def _quiet_opencv_threads_before_fork() -> None:
    """One OpenCV thread in this process, set *before* the DataLoader forks its workers.

    A fork copies OpenCV's thread pool in whatever state the parent left it (the validation hook and any
    earlier tracking in the process use it) but not its threads; the child's first call that reconfigures the
    pool (``cv2.setNumThreads``) then blocks forever in ``pthread_cond_destroy``. Setting one thread here joins
    the parent's pool threads cleanly, the children inherit that setting, so they never touch the pool, and the
    workers' OpenCV calls run single-threaded, which is what 1-core-per-worker wants anyway.
    """
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)


def _worker_init(_worker_id: int) -> None:
    # OpenCV's own threads would fight the worker processes for the same cores. The parent set one thread
    # before forking (_quiet_opencv_threads_before_fork); reconfiguring the inherited pool here could hang.
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)
