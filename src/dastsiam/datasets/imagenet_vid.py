"""ImageNet VID (ILSVRC2015) reader: ``Annotations/VID/<split>/**/<frame>.xml`` + ``Data/VID/<split>/**/<frame>.JPEG``.

``root`` is the ``ILSVRC2015`` folder (or its parent). Every object track (a video's ``trackid``) becomes one
:class:`Sequence` named ``<video>_<trackid>`` over all frames of its video, NaN where the object is not
annotated. ``bndbox`` ``xmin..xmax`` become ``x = xmin, w = xmax - xmin`` (pysot's reading). ``split`` is
``train`` (default) or ``val``; ``names`` selects videos or tracks.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from dastsiam.errors import InputError
from dastsiam.sequence import Sequence


def _base(root: Path) -> Path:
    for candidate in (root, root / "ILSVRC2015", root / "ILSVRC"):
        if (candidate / "Annotations" / "VID").is_dir():
            return candidate
    raise InputError(f"{root}: ImageNet VID folder not found (expected Annotations/VID inside)")


def _video_dirs(folder: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        if any(f.endswith(".xml") for f in filenames):
            out.append(Path(dirpath))
    return out


def _parse(path: Path) -> list[tuple[int, list[float]]]:
    try:
        tree = ET.parse(path)
    except (ET.ParseError, OSError) as exc:
        raise InputError(f"{path}: unreadable annotation ({exc})") from None
    objects = []
    for obj in tree.getroot().iter("object"):
        try:
            track = int(obj.findtext("trackid"))
            b = obj.find("bndbox")
            x0, x1 = float(b.findtext("xmin")), float(b.findtext("xmax"))
            y0, y1 = float(b.findtext("ymin")), float(b.findtext("ymax"))
        except (TypeError, ValueError, AttributeError):
            raise InputError(f"{path}: object without a valid trackid / bndbox") from None
        objects.append((track, [x0, y0, x1 - x0, y1 - y0]))
    return objects


def load(root, split: str | None = None, names=None) -> list[Sequence]:
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: ImageNet VID folder not found")
    base = _base(root)
    split = split or "train"
    anno_dir = base / "Annotations" / "VID" / split
    data_dir = base / "Data" / "VID" / split
    if not anno_dir.is_dir():
        raise InputError(f"{anno_dir}: ImageNet VID split {split!r} not found")
    wanted = None if names is None else {names} if isinstance(names, str) else set(names)
    videos = _video_dirs(anno_dir)
    if not videos:
        raise InputError(f"{anno_dir}: no annotation files")
    sequences = []
    for video in videos:
        rel = video.relative_to(anno_dir)
        if wanted is not None and video.name not in wanted and not any(n.startswith(video.name + "_") for n in wanted):
            continue
        xmls = sorted(p for p in video.iterdir() if p.suffix == ".xml")
        frames = [data_dir / rel / (p.stem + ".JPEG") for p in xmls]
        frame_dir = data_dir / rel
        if not frame_dir.is_dir():
            raise InputError(f"{frame_dir}: frame folder not found for {video}")
        n_images = sum(1 for e in os.scandir(frame_dir) if e.name.endswith(".JPEG"))
        if n_images != len(xmls):
            raise InputError(f"{video}: {len(xmls)} annotation files but {n_images} frames in {frame_dir}")
        tracks: dict[int, np.ndarray] = {}
        for i, xml in enumerate(xmls):
            for track, box in _parse(xml):
                gt = tracks.setdefault(track, np.full((len(xmls), 4), np.nan))
                gt[i] = box
        for track, gt in sorted(tracks.items()):
            name = f"{video.name}_{track}"
            if wanted is not None and name not in wanted and video.name not in wanted:
                continue
            sequences.append(Sequence(name, list(frames), gt, dataset="imagenet_vid"))
    if names is not None and not sequences:
        raise InputError(f"{anno_dir}: no video or track named {', '.join(sorted(wanted))}")
    return sequences
