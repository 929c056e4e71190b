"""ImageNet VID XML reader on a tiny hand-made layout."""

import cv2
import numpy as np
import pytest

from dastsiam.datasets import load_dataset
from dastsiam.errors import InputError

XML = """<annotation><folder>v</folder><filename>{f}</filename>
<size><width>80</width><height>60</height></size>{objects}</annotation>"""
OBJ = "<object><trackid>{t}</trackid><name>n1</name><bndbox><xmax>{x1}</xmax><xmin>{x0}</xmin><ymax>{y1}</ymax><ymin>{y0}</ymin></bndbox></object>"


def make_vid(root, frames=3, extra_image=False):
    anno = root / "ILSVRC2015" / "Annotations" / "VID" / "train" / "ILSVRC2015_VID_train_0000" / "vid0"
    data = root / "ILSVRC2015" / "Data" / "VID" / "train" / "ILSVRC2015_VID_train_0000" / "vid0"
    anno.mkdir(parents=True)
    data.mkdir(parents=True)
    for i in range(frames + int(extra_image)):
        cv2.imwrite(str(data / f"{i:06d}.JPEG"), np.zeros((60, 80, 3), np.uint8))
    for i in range(frames):
        objs = OBJ.format(t=0, x0=10 + i, x1=30 + i, y0=5, y1=25)
        if i == 1:
            objs += OBJ.format(t=1, x0=40, x1=50, y0=40, y1=55)
        (anno / f"{i:06d}.xml").write_text(XML.format(f=f"{i:06d}", objects=objs))


def test_tracks_become_sequences(tmp_path):
    make_vid(tmp_path)
    seqs = load_dataset("imagenet_vid", tmp_path)
    assert [s.name for s in seqs] == ["vid0_0", "vid0_1"]
    np.testing.assert_allclose(seqs[0].ground_truth[2], [12, 5, 20, 20])
    assert np.isnan(seqs[1].ground_truth[0]).all() and list(seqs[1].absent) == [True, False, True]
    assert seqs[0].frames[1].name == "000001.JPEG" and seqs[0].frames[1].is_file()
    assert [s.name for s in load_dataset("imagenet_vid", tmp_path / "ILSVRC2015", names=["vid0_1"])] == ["vid0_1"]


def test_bad_layouts(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_dataset("imagenet_vid", tmp_path / "nowhere")
    make_vid(tmp_path, extra_image=True)
    with pytest.raises(InputError, match="3 annotation files but 4 frames"):
        load_dataset("imagenet_vid", tmp_path)
