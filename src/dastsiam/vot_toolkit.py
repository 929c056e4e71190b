"""The VOT toolkit as a client of a dastsiam tracker (docs/evaluation.md, "VOT toolkit").

Two ways in, one tracker behind both:

* **TraX** (``dastsiam vot``, :func:`serve_trax`): the VOT challenge's protocol, spoken with the TraX
  project's own Python library (``vot-trax``, the ``[vot]`` extra) rather than by hand. The toolkit starts
  ``dastsiam vot --model NAME`` and exchanges frames (image paths) and regions with it over stdin/stdout.
  ``trackers.ini``: ``protocol = trax``, ``command = dastsiam vot --model nano``.
* **The toolkit's ``python`` protocol** (:class:`VotTracker`): the toolkit imports this class in a worker
  process of its own environment (dastsiam installed there). ``trackers.ini``: ``protocol = python``,
  ``command = dastsiam.vot_toolkit:VotTracker``, ``arg_model = nano``. ``vot test`` cannot test it in
  vot-toolkit 0.9.0 (its ``PythonRuntime`` says "multi-object" until the worker has started, so the test
  sequence gets three objects); ``vot evaluate`` runs it.

vot-toolkit 0.9.0's supervised experiment (the reset protocol of the VOT2013-2019 ``baseline``) cannot run any
single-object tracker, over either protocol: ``SupervisedExperiment.execute`` was left on an older runtime
interface (docs/evaluation.md, "VOT toolkit", has the diagnosis). :data:`SupervisedExperiment` is the same
experiment on the current interface; a workspace stack names it as the experiment ``type`` (the toolkit
imports experiment classes by path), which :func:`write_workspace` (``dastsiam vot --workspace``) sets up.

Both initialise (and re-initialise) from the ground-truth region with the tracker's VOT rule
(``TrackerConfig.vot_init``: pysot's area-preserving box by default, :func:`~dastsiam.evaluation.vot.vot_init_box`),
exactly as ``dastsiam run --dataset vot2018`` does, and report an axis-aligned rectangle.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from dastsiam.errors import InputError

__all__ = ["VotTracker", "serve_trax", "region_to_numbers", "tracker_init_rule", "write_workspace",
           "SupervisedExperiment", "VOT2018_STACK"]


def tracker_init_rule(tracker, rule: str | None = None) -> str:
    """``rule`` if given, else the tracker's ``config.vot_init`` (``pysot`` for every dastsiam preset)."""
    from dastsiam.evaluation.runner import vot_init_rule

    return vot_init_rule(tracker, rule)


def _load(model, backend, device, threads, preset):
    from dastsiam.api import load_tracker

    return load_tracker(model, backend=backend, device=device, threads=threads, preset=preset)


def _read(frame) -> np.ndarray:
    """A BGR image from what a VOT client sends: a file path, or (multi-channel sequences) a dict of channels
    whose ``color`` entry is a path or an RGB array (the toolkit's ``Frame.channel``)."""
    import cv2

    from dastsiam.evaluation.runner import read_frame

    if isinstance(frame, dict):
        if "color" not in frame:
            raise InputError(f"VOT frame without a color channel (channels: {', '.join(frame)})")
        frame = frame["color"]
    if isinstance(frame, (str, bytes)) or hasattr(frame, "__fspath__"):
        return read_frame(frame)
    array = np.asarray(frame)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(array[:, :, 2::-1])


def region_to_numbers(region) -> np.ndarray:
    """A VOT region as numbers: ``x, y, w, h`` for a rectangle, ``x1, y1, ..., xn, yn`` for a polygon.

    Takes the toolkit's ``python``-protocol encoding (a 4-tuple rectangle, or a list of ``(x, y)`` points),
    a ``(region, properties)`` pair of it, or a TraX ``Region`` (``trax.Rectangle`` / ``trax.Polygon``)."""
    if hasattr(region, "bounds") and callable(region.bounds):  # trax.Rectangle
        return np.asarray(region.bounds(), dtype=np.float64)
    if hasattr(region, "size") and callable(region.size) and hasattr(region, "get"):  # trax.Polygon
        return np.asarray([c for i in range(region.size()) for c in region.get(i)], dtype=np.float64)
    if isinstance(region, tuple) and len(region) == 2 and isinstance(region[1], dict):  # (region, properties)
        region = region[0]
    if isinstance(region, list) and region and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in region):
        return np.asarray([c for point in region for c in point], dtype=np.float64)
    values = np.asarray(region, dtype=np.float64).reshape(-1)
    if values.size not in (4,) and (values.size < 6 or values.size % 2):
        raise InputError(f"VOT region {region!r}: neither a rectangle nor a polygon")
    return values


class VotTracker:
    """A dastsiam tracker for the VOT toolkit's ``python`` runtime protocol (single object).

    The toolkit builds it with the ``arg_*`` keys of ``trackers.ini`` as keyword arguments (strings), calls
    ``init(frame, region)`` on every (re-)initialisation and ``update(frame)`` on the other frames; ``frame`` is
    an image path, ``region`` a rectangle tuple or a list of polygon points. Both return the ``(x, y, w, h)``
    rectangle the toolkit scores. ``multiobject = False`` tells the toolkit to send one object.

    Args (all optional): ``model`` (built-in name or weights file, default: the default model), ``backend``
    (``auto``/``onnx``/``torch``), ``device``, ``threads`` (default 1: the toolkit may run several workers),
    ``preset``, ``init`` (``pysot`` or ``envelope``; default: the tracker's ``vot_init``).
    """

    multiobject = False

    def __init__(self, model: str | None = None, backend: str = "auto", device: str = "cpu",
                 threads: int | str | None = 1, preset: str | None = None, init: str | None = None):
        self.tracker = _load(model, backend, device, None if threads in (None, "") else int(threads), preset or None)
        self.rule = tracker_init_rule(self.tracker, init or None)

    def init(self, frame, region, properties=None) -> tuple[float, float, float, float]:
        from dastsiam.evaluation.vot import vot_init_box

        box = vot_init_box(region_to_numbers(region), self.rule)
        self.tracker.init(_read(frame), box)
        return tuple(float(v) for v in box)

    def update(self, frame, new=None, properties=None) -> tuple[float, float, float, float]:
        if new:
            raise InputError("the dastsiam VOT tracker follows one object; the toolkit sent new objects mid-sequence")
        box, _score = self.tracker.track(_read(frame))
        return tuple(float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))


def serve_trax(tracker, rule: str, log=sys.stderr) -> int:
    """Serve one TraX session (the VOT toolkit's client on stdin/stdout) with ``tracker``; returns the number of
    frames answered. Accepts polygon and rectangle regions (the polygon so that ``rule`` can be applied; a
    rectangle-only server would get the toolkit's envelope), image paths, one object; replies rectangles with
    the tracker's ``score`` as a property."""
    import trax  # the [vot] extra; the CLI turns its absence into one line naming the extra (dastsiam._deps)
    from dastsiam.evaluation.vot import vot_init_box

    frames = 0
    with trax.Server([trax.Region.POLYGON, trax.Region.RECTANGLE], [trax.Image.PATH],
                     tracker_name="dastsiam", tracker_family="Siamese") as server:
        while True:
            request = server.wait()
            if request.type in (trax.TraxStatus.QUIT, trax.TraxStatus.ERROR):
                break
            image = _read(request.image["color"].path())
            if request.type == trax.TraxStatus.INITIALIZE:
                if len(request.objects) != 1:
                    raise InputError(f"the dastsiam VOT tracker follows one object, the client sent {len(request.objects)}")
                box = vot_init_box(region_to_numbers(request.objects[0][0]), rule)
                tracker.init(image, box)
                score = 1.0
            else:
                box, score = tracker.track(image)
            box = [float(v) for v in np.asarray(box, dtype=np.float64).reshape(4)]
            server.status([(trax.Rectangle.create(*box), {"confidence": float(score)})])
            frames += 1
    if log is not None:
        print(f"dastsiam vot: {frames} frames answered", file=log)
    return frames


# ------------------------------------------------------------------------------------ the supervised experiment
#: VOT2018's short-term stack (the toolkit's ``vot2018/shortterm``: 15 repetitions, re-initialisation 5 frames
#: after a failure, A-R with sensitivity 30, EAO over lengths 100-356) with the supervised experiments on
#: :data:`SupervisedExperiment`. No ``dataset`` URL: the workspace's sequences are used as they are.
VOT2018_STACK = """\
title: VOT-ST2018 (dastsiam.vot_toolkit.SupervisedExperiment for the reset protocol)
url: http://www.votchallenge.net/vot2018/
experiments:
  baseline:
    type: dastsiam.vot_toolkit.SupervisedExperiment
    repetitions: 15
    skip_initialize: 5
    analyses:
      - type: supervised_average_ar
        sensitivity: 30
      - type: supervised_eao_score
        low: 100
        high: 356
      - type: supervised_eao_curve
  unsupervised:
    type: unsupervised
    repetitions: 1
    analyses:
      - type: average_accuracy
"""


def _single(objects):
    """The one object of a runtime reply: the toolkit 0.9.0 runtimes reply lists (``FrameResult``), older ones
    a bare ``ObjectStatus``."""
    if isinstance(objects, list):
        if len(objects) != 1:
            raise InputError(f"a single-object experiment got {len(objects)} objects from the tracker")
        return objects[0]
    return objects


def _make_supervised_experiment():
    from vot.experiment.multirun import SupervisedExperiment as _ToolkitSupervised
    from vot.region import Special, calculate_overlap
    from vot.tracker import OnlineTrackerRuntime, Trajectory

    class SupervisedExperiment(_ToolkitSupervised):
        """vot-toolkit 0.9.0's ``SupervisedExperiment`` (same attributes, same trajectories, same analyses)
        speaking the runtime interface of the same release: ``initialize`` gets a list of one object, ``update``
        an empty list of new objects, and the reply's one object is unwrapped from its list."""

        def execute(self, tracker, sequence, force: bool = False, callback=None):
            if len(sequence.objects()) != 1:
                raise ValueError("SupervisedExperiment only works on single-target sequences.")
            results = self.results(tracker, sequence)
            with self._get_runtime(tracker, sequence) as runtime:
                if not isinstance(runtime, OnlineTrackerRuntime) and not hasattr(runtime, "initialize"):
                    raise ValueError("SupervisedExperiment requires an online tracker runtime.")
                for i in range(1, self.repetitions + 1):
                    name = f"{sequence.name}_{i:03d}"
                    if Trajectory.exists(results, name) and not force:
                        continue
                    if self._can_stop(tracker, sequence):
                        return
                    trajectory = Trajectory(len(sequence))
                    frame = 0
                    while frame < len(sequence):
                        _, elapsed = runtime.initialize(sequence.frame(frame),
                                                        [self._get_initialization(sequence, frame)])
                        trajectory.set(frame, Special(Trajectory.INITIALIZATION), {"time": elapsed})
                        frame += 1
                        while frame < len(sequence):
                            objects, elapsed = runtime.update(sequence.frame(frame), [])
                            target = _single(objects)
                            properties = dict(target.properties, time=elapsed)
                            if calculate_overlap(target.region, sequence.groundtruth(frame),
                                                 sequence.size) <= self.failure_overlap:
                                trajectory.set(frame, Special(self.FAILURE), properties)
                                frame += self.skip_initialize
                                if self.skip_tags:
                                    while frame < len(sequence) and any(
                                            t in self.skip_tags for t in sequence.tags(frame)):
                                        frame += 1
                                break
                            trajectory.set(frame, target.region, properties)
                            frame += 1
                    if callback:
                        callback(i / self.repetitions)
                    trajectory.write(results, name)

    SupervisedExperiment.__module__ = __name__
    SupervisedExperiment.__qualname__ = "SupervisedExperiment"
    return SupervisedExperiment


def __getattr__(name: str):
    # built on first use: only the toolkit's environment has ``vot``, and importing this module must not need it
    if name == "SupervisedExperiment":
        cls = _make_supervised_experiment()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def write_workspace(directory, sequences, trackers_ini: str) -> Path:
    """A VOT toolkit workspace in ``directory``: ``config.yaml`` (the stack below, ``sequences`` = the given
    dataset folder, which must hold ``list.txt`` so that the toolkit downloads nothing), ``trackers.ini`` and
    ``dastsiam_vot2018.yaml`` (:data:`VOT2018_STACK`). Existing files are replaced; results are kept."""
    directory = Path(directory)
    sequences = Path(sequences).resolve()
    if not (sequences / "list.txt").is_file():
        raise InputError(f"--sequences {sequences}: no list.txt (a VOT dataset folder: list.txt and <seq>/groundtruth.txt)")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dastsiam_vot2018.yaml").write_text(VOT2018_STACK)
    (directory / "trackers.ini").write_text(trackers_ini)
    (directory / "config.yaml").write_text(
        f"registry:\n- ./trackers.ini\nstack: dastsiam_vot2018.yaml\nsequences: {json.dumps(str(sequences))}\n")
    return directory
