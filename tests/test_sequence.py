from pathlib import Path

import numpy as np
import pytest

from dastsiam.sequence import Sequence


def test_absent_from_nan_and_length_check(tmp_path):
    frames = [tmp_path / f"{i}.jpg" for i in range(3)]
    seq = Sequence("s", frames, [[0, 0, 1, 1], [np.nan] * 4, [1, 1, 2, 2]])
    assert seq.absent.tolist() == [False, True, False]
    assert np.allclose(seq.init_box, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="3 frames but 2 ground-truth rows"):
        Sequence("s", frames, [[0, 0, 1, 1]] * 2)


def test_print_shows_one_short_line(shared_data, capsys):
    """``print(sequence)`` used to dump every frame path and box (11,600+ characters for bag)."""
    from dastsiam.datasets import load_vot2018

    seq = load_vot2018(shared_data / "VOT")[0]
    print(seq)
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and len(line) < 150
    assert line.startswith("Sequence('bag', vot2018, 196 frames in ") and line.endswith("bag, polygons)")
    tagged = Sequence("s", [Path("a/1.jpg"), Path("a/2.jpg")], np.array([[0, 0, 1, 1], [np.nan] * 4]),
                      attributes={"occlusion": np.array([True, False]), "IV": True})
    assert repr(tagged) == "Sequence('s', custom, 2 frames in a, 1 absent; tags: occlusion)"
