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
