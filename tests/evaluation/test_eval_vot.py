"""VOT2018 from the command line (issue 7.7): the reset protocol in ``dastsiam run``, accuracy / robustness /
EAO and per-attribute EAO in ``dastsiam eval``, and the overlap and EAO curve checked against the official
VOT toolkit (vot-toolkit 0.9.0: ``vot.region.raster.calculate_overlap``, ``vot.analysis.supervised.
compute_eao_curve``). The toolkit is not a dependency (it pins ``opencv-python``, which clashes with the
headless wheel): the recorded cases below hold values the toolkit printed; the live comparisons run where it
is installed (``pip install vot-toolkit==0.9.0 attributee==0.1.8``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dastsiam.cli.main import main
from dastsiam.evaluation.vot import expected_average_overlap, raster_overlap, region_overlap, score_vot

# (region a, region b, image size or None, vot.region.raster.calculate_overlap as printed by vot-toolkit 0.9.0)
TOOLKIT_OVERLAPS = [
    ([10, 20, 30, 40], [15, 25, 30, 40], None, 0.5737704918032787),
    ([10.4, 20.5, 30.5, 39.6], [5, 0, 60, 10, 55, 70, 0, 60], (64, 48), 0.34667767230705737),
    ([0, 0, 10, 10], [5, 0, 10, 5, 5, 10, 0, 5], None, 0.5784313725490197),  # exact polygon IoU: 0.5
    ([-20, -10, 50, 40], [0, 0, 30, 0, 30, 20, 0, 20], (25, 15), 1.0),  # both cover the whole image
    ([100, 100, 10, 10], [0, 0, 5, 5], (50, 50), 0.0),
    ([3.5, 2.5, 7.5, 6.5], [2.5, 1.5, 9.5, 2.5, 8.5, 8.5, 1.5, 7.5], (12, 10), 0.5223880597014925),
]


@pytest.mark.parametrize("a,b,size,expected", TOOLKIT_OVERLAPS)
def test_raster_overlap_equals_the_vot_toolkit_recorded(a, b, size, expected):
    assert raster_overlap(a, b, size) == expected


def test_exact_overlap_differs_from_the_toolkit_on_small_regions():
    assert region_overlap([0, 0, 10, 10], [5, 0, 10, 5, 5, 10, 0, 5], method="exact") == pytest.approx(0.5)


def _random_region(rng, size):
    if rng.random() < 0.5:
        x, y, w, h = rng.uniform(-40, size[0]), rng.uniform(-40, size[1]), rng.uniform(0, 150), rng.uniform(0, 150)
        return [x, y, w, h]
    c, angle, (w, h) = rng.uniform(-20, 300, 2), rng.uniform(0, np.pi), rng.uniform(1, 120, 2)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = (np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2) @ rot.T + c
    if rng.random() < 0.3:
        points = np.round(points) + (0.5 if rng.random() < 0.5 else 0.0)  # exact .5: round-half-even matters
    return list(points.ravel())


_TOOLKIT_OVERLAPS = """
from vot.region.raster import calculate_overlap
from vot.region.shapes import Polygon, Rectangle
def shape(r):
    return Rectangle(*r) if len(r) == 4 else Polygon([(r[i], r[i + 1]) for i in range(0, len(r), 2)])
def f(cases):
    return [calculate_overlap(shape(a), shape(b), None if s is None else tuple(s)) for a, b, s in cases]
"""


def _toolkit_overlaps(cases) -> list[float]:
    """``calculate_overlap`` of the VOT toolkit for each ``(a, b, bounds)``."""
    return _toolkit_call(_TOOLKIT_OVERLAPS, cases)


def _toolkit_call(define_f: str, *args):
    """``f(*args)`` with ``f`` defined by ``define_f`` (code using the VOT toolkit), arguments and result as JSON:
    in this Python when it has the toolkit, else in the toolkit's own environment (``.vot-env``, made by
    ``scripts/vot_toolkit_env.sh``); skipped where neither exists."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    try:
        import vot.region.raster  # noqa: F401
        python = sys.executable
    except ImportError:
        python = Path(__file__).resolve().parents[2] / ".vot-env" / "bin" / "python"
        if not python.is_file():
            pytest.skip("the VOT toolkit is neither importable nor in .vot-env (bash scripts/vot_toolkit_env.sh)")
    program = (define_f + "\nimport json, sys\nimport numpy as np\nout = f(*json.load(sys.stdin))\n"
               "print(json.dumps(np.asarray(out, dtype=float).tolist()))\n")
    done = subprocess.run([str(python), "-c", program], input=json.dumps(args), capture_output=True, text=True,
                          check=True, timeout=300)
    return json.loads(done.stdout)


def test_raster_overlap_equals_the_vot_toolkit_live():
    rng = np.random.default_rng(7)
    cases = []
    for _ in range(400):
        size = (int(rng.integers(40, 400)), int(rng.integers(40, 400)))
        a, b = _random_region(rng, size), _random_region(rng, size)
        cases.append(([float(v) for v in a], [float(v) for v in b], size if rng.random() < 0.7 else None))
    for (a, b, bounded), theirs in zip(cases, _toolkit_overlaps(cases)):
        assert raster_overlap(a, b, bounded) == theirs, (a, b, bounded)


def _toolkit_fragments(overlaps, trajectory):
    """The fragments ``vot.analysis.supervised.EAOCurve.subcompute`` builds (overlap 0 on flag frames)."""
    ov = np.nan_to_num(overlaps, nan=0.0)
    fails = [i for i, t in enumerate(trajectory) if isinstance(t, int) and t == 2]
    inits = [i for i, t in enumerate(trajectory) if isinstance(t, int) and t == 1]
    frags, success = [], []
    for k, f in enumerate(fails):
        frags.append(list(ov[inits[k] : f]))
        success.append(False)
    if len(inits) > len(fails):
        frags.append(list(ov[inits[-1] :]))
        success.append(True)
    return frags, success


def test_eao_curve_equals_the_vot_toolkit_recorded():
    nan = np.nan
    # run 1: failure at frame 3, re-initialised at 8; run 2: no failure
    run1 = [1, 0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0]
    ov1 = np.array([nan, .8, .6, nan, nan, nan, nan, nan, nan, .9, .9, .3])
    ov2 = np.array([nan, .5, .4, .7, .2, .6])
    _, curve = expected_average_overlap([ov1, ov2], [[3], []])
    # vot-toolkit 0.9.0: compute_eao_curve([[0, .8, .6], [0, .9, .9, .3], [0, .5, .4, .7, .2, .6]],
    #                                       [1, 1, 1], [False, True, True])
    toolkit = [0.0, 0.73333335, 0.68333332, 0.56666668, 0.40000001, 0.38000003]
    np.testing.assert_allclose(curve[1:6], toolkit[1:], atol=1e-7)
    frags, success = _toolkit_fragments(ov1, run1)
    assert success == [False, True] and len(frags[0]) == 3


def test_eao_curve_equals_the_vot_toolkit_live():
    rng = np.random.default_rng(3)
    overlaps, failures, all_frags, all_success = [], [], [], []
    for _ in range(12):
        n = int(rng.integers(30, 120))
        trajectory, ov, i = [], np.full(n, np.nan), 0
        fails = []
        while i < n:
            trajectory.append(1)
            i += 1
            while i < n:
                if rng.random() < 0.04:
                    trajectory.append(2)
                    fails.append(i)
                    skipped = min(4, n - i - 1)
                    trajectory += [0] * skipped
                    i += 1 + skipped
                    break
                trajectory.append(0)  # a tracked frame (its overlap is in ov)
                ov[i] = rng.uniform(0.05, 1.0)
                i += 1
        frags, success = _toolkit_fragments(ov, [t if t in (1, 2) else None for t in trajectory])
        overlaps.append(ov)
        failures.append(fails)
        all_frags += frags
        all_success += success
    _, ours = expected_average_overlap(overlaps, failures)
    theirs = _toolkit_call("from vot.analysis.supervised import compute_eao_curve as f",
                           [[float(v) for v in f] for f in all_frags], [1] * len(all_frags), all_success)
    n = min(len(ours), len(theirs))
    np.testing.assert_allclose(ours[1:n], theirs[1:n], atol=1e-6)


def test_per_attribute_eao_weights_fragments_by_their_tagged_share():
    nan = np.nan
    ov_a = np.array([nan] + [0.8] * 9)  # run a: no failure, overlap 0.8
    ov_b = np.array([nan, 0.4, 0.4, nan, nan, nan, nan, nan, nan, 0.4])  # run b: failure at 3
    tag_a = np.zeros(10, bool)
    tag_b = np.ones(10, bool)
    eao_b_only, _ = expected_average_overlap([ov_b], [[3]], interval=(2, 4))
    eao_tagged, _ = expected_average_overlap([ov_a, ov_b], [[], [3]], interval=(2, 4), tags=[tag_a, tag_b])
    assert eao_tagged == pytest.approx(eao_b_only)  # run a has no tagged frame: weight 0
    eao_all, _ = expected_average_overlap([ov_a, ov_b], [[], [3]], interval=(2, 4))
    assert eao_all > eao_tagged


def test_eao_window_vot2018_versus_python_toolkit():
    ov = [np.array([np.nan] + list(np.linspace(1, 0, 9)))]
    eao, curve = expected_average_overlap(ov, [[]], interval=(3, 5))
    assert eao == pytest.approx(np.mean(curve[2:5]))  # Ns = 3..5 -> curve[2..4] (VOT2018 MATLAB, pysot)
    traj = [1] + [np.array([0, 0, 10, 10.0])] * 9
    gt = np.tile([0, 0, 10, 0, 10, 10, 0, 10.0], (10, 1))
    a = score_vot({"s": [traj]}, {"s": gt}, interval=(3, 5), eao_window="vot2018")
    b = score_vot({"s": [traj]}, {"s": gt}, interval=(3, 5), eao_window="toolkit")
    assert a.eao == pytest.approx(np.mean(a.expected_overlaps[2:5]))
    assert b.eao == pytest.approx(np.mean(b.expected_overlaps[3:6]))


def _tagged(root):
    """``root`` (a ``vot_bag`` copy) with per-frame tag files for bag."""
    seq = root / "bag"
    n = len((seq / "groundtruth.txt").read_text().splitlines())
    occlusion = np.zeros(n, int)
    occlusion[90:130] = 1
    camera = np.zeros(60, int)  # VOT tag files may stop at the last tagged frame
    camera[:40] = 1
    (seq / "occlusion.tag").write_text("".join(f"{v}\n" for v in occlusion))
    (seq / "camera_motion.tag").write_text("".join(f"{v}\n" for v in camera))
    return root


def test_run_and_eval_vot2018_reset_protocol_on_real_frames(vot_bag, tmp_path, capsys):
    root = _tagged(vot_bag())
    results = tmp_path / "results"
    assert main(["run", "--dataset", "vot2018", "--root", str(root), "--results", str(results), "--name", "nano",
                 "--model", "nano"]) == 0
    lines = (results / "nano" / "baseline" / "bag" / "bag_001.txt").read_text().splitlines()
    assert len(lines) == 196 and lines[0] == "1"
    assert lines[99] == "2" and lines[100:104] == ["0"] * 4 and lines[104] == "1"  # fail, skip 4, re-init at +5
    out = tmp_path / "vot.json"
    capsys.readouterr()
    assert main(["eval", "--dataset", "vot2018", "--root", str(root), "--results", str(results), "--attributes",
                 "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "EAO" in printed and "occlusion" in printed and "camera_motion" in printed
    s = json.loads(out.read_text())["nano"]
    assert s["failures"] >= 1 and 0 < s["accuracy"] < 1 and 0 < s["eao"] < 1 and s["complete"]
    fails = [i for i, line in enumerate(lines) if line == "2"]
    assert s["attributes"]["occlusion"]["failures"] == sum(1 for f in fails if 90 <= f < 130)
    assert s["attributes"]["camera_motion"]["failures"] == sum(1 for f in fails if f < 40)
    assert 0 < s["attributes"]["occlusion"]["eao"] < 1
    assert len(s["curves"]["expected_overlap"]["values"]) == 196
    # a result cut short cannot score better: the missing frames are lost
    cut = results / "nano" / "baseline" / "bag" / "bag_001.txt"
    cut.write_text("\n".join(lines[:150]) + "\n")
    assert main(["eval", "--dataset", "vot2018", "--root", str(root), "--results", str(results),
                 "--json", str(out)]) == 0
    short = json.loads(out.read_text())["nano"]
    assert short["failures"] == s["failures"] + 1 and short["eao"] <= s["eao"]


def test_vot_results_folder_with_nothing_to_score_is_an_error(vot_bag, tmp_path, capsys):
    root = _tagged(vot_bag(moved=()))
    (tmp_path / "results" / "x").mkdir(parents=True)
    code = main(["eval", "--dataset", "vot2018", "--root", str(root), "--results", str(tmp_path / "results")])
    assert code == 2 and "nothing to score" in capsys.readouterr().err


# --- the VOT initialisation box (issue 17.2): pysot's get_axis_aligned_bbox by default ----------------------------
BAG_FIRST_POLYGON = [334.02, 128.36, 438.19, 188.78, 396.39, 260.83, 292.23, 200.41]


def test_vot_init_box_pysot_rule_against_hand_computed_boxes():
    from dastsiam.errors import InputError
    from dastsiam.evaluation.vot import vot_init_box

    # a 45-degree diamond: centre (10, 10), envelope 20 x 20 = 400, rotated area sqrt(200) * sqrt(200) = 200,
    # s = sqrt(200 / 400); pysot: w = h = 20 s + 1 = 15.1421356, x = y = 10 - w / 2 = 2.4289322
    diamond = [10, 0, 20, 10, 10, 20, 0, 10]
    np.testing.assert_allclose(vot_init_box(diamond), [2.4289322, 2.4289322, 15.1421356, 15.1421356], atol=1e-6)
    np.testing.assert_allclose(vot_init_box(diamond, "envelope"), [0, 0, 20, 20])
    # bag, frame 1: centre (365.2075, 194.595); envelope 145.96 x 132.47; |p1 - p2| = 120.4241, |p2 - p3| = 83.2972,
    # s = sqrt(10031.01 / 19335.32) = 0.720276; w = 105.130 + 1, h = 95.415 + 1
    box = vot_init_box(BAG_FIRST_POLYGON)
    np.testing.assert_allclose(box[2:], [106.1309, 96.4144], atol=2e-4)
    np.testing.assert_allclose(box[:2] + box[2:] / 2, [365.2075, 194.595], atol=1e-9)
    np.testing.assert_allclose(vot_init_box(BAG_FIRST_POLYGON, "envelope"), [292.23, 128.36, 145.96, 132.47])
    # an axis-aligned rectangle polygon: both rules give the rectangle (pysot adds its pixel to w and h)
    np.testing.assert_allclose(vot_init_box([1, 2, 11, 2, 11, 7, 1, 7]), [0.5, 1.5, 11, 6])
    np.testing.assert_allclose(vot_init_box([1, 2, 10, 5]), [1, 2, 10, 5])  # x,y,w,h rows are kept (as pysot)
    with pytest.raises(InputError, match="pysot, envelope"):
        vot_init_box(diamond, "area")


def test_reset_protocol_initialises_with_the_trackers_vot_rule(vot_bag, tmp_path):
    """Frame 1 and every re-initialisation after a failure get pysot's box for a dastsiam tracker (its
    preset's ``vot_init``), the envelope with ``init_rule="envelope"`` or for a tracker without a config."""
    from dastsiam.datasets import load_vot2018
    from dastsiam.evaluation.runner import run_vot_baseline
    from dastsiam.evaluation.vot import vot_init_box
    from dastsiam.tracking.config import preset

    seq = load_vot2018(_tagged(vot_bag()))[0]

    class Recorder:
        def __init__(self, config=None):
            self.inits, self.box = [], None
            if config is not None:
                self.config = config

        def init(self, frame, box):
            self.inits.append(np.asarray(box, float))
            self.box = np.asarray(box, float)

        def track(self, frame):
            return self.box, 1.0

    for config, rule, expected in ((preset("nano"), None, "pysot"), (preset("siamrpn"), None, "pysot"),
                                   (preset("nano"), "envelope", "envelope"), (None, None, "envelope")):
        tracker = Recorder(config)
        trajectory, _ = run_vot_baseline(tracker, seq, init_rule=rule)
        starts = [i for i, t in enumerate(trajectory) if isinstance(t, int) and t == 1]
        assert starts[0] == 0 and len(starts) >= 2 and len(starts) == len(tracker.inits)  # a standing box fails
        for start, box in zip(starts, tracker.inits):
            np.testing.assert_allclose(box, vot_init_box(seq.polygons[start], expected))
    assert preset("siamfc").vot_init == "pysot" and preset("nano", vot_init="envelope").vot_init == "envelope"


def test_run_cli_vot_init_switch_changes_the_initial_box(vot_bag, tmp_path):
    """Through the real CLI on bag: the default equals ``--vot-init pysot`` and differs from ``envelope``."""
    root = _tagged(vot_bag(moved=()))
    boxes = {}
    for name, extra in (("default", []), ("pysot", ["--vot-init", "pysot"]), ("envelope", ["--vot-init", "envelope"])):
        assert main(["run", "--dataset", "vot2018", "--root", str(root), "--results", str(tmp_path / "r"),
                     "--name", name, "--model", "nano", "--sequences", "bag", *extra]) == 0
        second = (tmp_path / "r" / name / "baseline" / "bag" / "bag_001.txt").read_text().splitlines()[1]
        boxes[name] = np.array(second.split(","), float)
    np.testing.assert_allclose(boxes["default"], boxes["pysot"])
    assert np.abs(boxes["pysot"][2:] - boxes["envelope"][2:]).max() > 5  # the envelope is ~1.5x the area on bag
