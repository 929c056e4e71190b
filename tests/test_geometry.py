import numpy as np

from dastsiam.models.geometry import OutputGeometry


def test_r50_grid_is_centred_on_crop():
    g = OutputGeometry(exemplar_size=127, instance_size=287, stride=8, score_size=25)
    xs, ys = g.cell_centers()
    assert xs.shape == (25, 25)
    # centre cell looks at the crop centre, 287 / 2 = 143.5; neighbours 8 px apart
    assert xs[12, 12] == 143.5 and ys[12, 12] == 143.5
    assert g.offset == 143.5 - 12 * 8
    assert np.all(np.diff(xs, axis=1) == 8) and np.all(np.diff(ys, axis=0) == 8)
    assert g.cell_of_point(143.5 + 16, 143.5 - 8) == (11.0, 14.0)


def test_offset_override():
    g = OutputGeometry(127, 255, 16, 16, offset_override=-8.0)
    xs, _ = g.cell_centers()
    assert xs[0, 0] == -8.0 and xs[0, -1] == -8.0 + 15 * 16
