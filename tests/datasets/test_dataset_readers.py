"""Dataset readers on the real shared sequences and on synthetic copies of each benchmark's layout
(empty files stand in for frames: readers list folders and never open images)."""

from __future__ import annotations

import numpy as np
import pytest

from dastsiam.datasets import (
    load_custom,
    load_dataset,
    load_got10k,
    load_lasot,
    load_otb,
    load_uav123,
    load_vot2018,
)
from dastsiam.errors import InputError


def make_frames(folder, count, width=4, start=1, ext="jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        (folder / f"{i:0{width}d}.{ext}").write_bytes(b"")
    return folder


def write_rows(path, rows, delimiter=","):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(delimiter.join(str(v) for v in row) + "\n" for row in rows))


# --- real data --------------------------------------------------------------------------------------------


def test_real_otb_sequences(shared_data):
    seqs = {s.name: s for s in load_otb(shared_data / "OTB")}
    assert set(seqs) == {"Couple", "Crossing", "Football1", "MotorRolling", "Surfer"}
    # Football1: 81 frames on disk, 74 annotated -> the first 74 frames
    assert len(seqs["Football1"]) == 74 and seqs["Football1"].frames[-1].name == "0074.jpg"
    # Couple's file is tab-separated "51 47 25 62" (1-based) -> 0-based
    np.testing.assert_array_equal(seqs["Couple"].init_box, [50, 46, 25, 62])
    assert seqs["Couple"].frames[0].is_file() and seqs["Couple"].dataset == "otb"


def test_real_vot_polygons(shared_data):
    (bag,) = load_vot2018(shared_data / "VOT")
    assert bag.name == "bag" and len(bag) == 196 and bag.polygons.shape == (196, 8)
    first = bag.polygons[0]
    np.testing.assert_allclose(bag.ground_truth[0], [first[0::2].min(), first[1::2].min(),
                                                     first[0::2].max() - first[0::2].min(),
                                                     first[1::2].max() - first[1::2].min()])


def test_real_uav123_both_layouts(shared_data):
    (wake,) = load_dataset("uav123", shared_data / "UAV123_10fps")
    assert wake.name == "wakeboard7" and len(wake) == 67
    np.testing.assert_array_equal(wake.init_box, [622, 298, 11, 38])
    subs = {s.name: s for s in load_uav123(shared_data / "train_extra" / "UAV123_10fps_half")}
    assert {"truck4_1", "truck4_2", "person12_1", "building4"} == set(subs)
    assert len(subs["truck4_2"]) == 229 and subs["truck4_2"].frames[0].parent.name == "truck4_2"


# --- synthetic layouts ------------------------------------------------------------------------------------


def test_otb_two_target_names_mixed_delimiters_and_start_frame(tmp_path):
    make_frames(tmp_path / "Jogging" / "img", 3)
    write_rows(tmp_path / "Jogging" / "groundtruth_rect.1.txt", [[1, 2, 3, 4]] * 3)
    (tmp_path / "Jogging" / "groundtruth_rect.2.txt").write_text("5,6\t7 8\n5 6,7,8\n5\t6\t7\t8\n")
    make_frames(tmp_path / "Human4" / "img", 2)
    (tmp_path / "Human4" / "groundtruth_rect.1.txt").write_text("")  # empty, as in some OTB copies
    write_rows(tmp_path / "Human4" / "groundtruth_rect.2.txt", [[1, 1, 2, 2]] * 2)
    make_frames(tmp_path / "Walking" / "img", 10)
    write_rows(tmp_path / "Walking" / "groundtruth_rect.txt", [[1, 1, 2, 2]] * 4)
    seqs = {s.name: s for s in load_otb(tmp_path)}
    assert set(seqs) == {"Jogging-1", "Jogging-2", "Human4-2", "Walking"}
    np.testing.assert_array_equal(seqs["Jogging-2"].ground_truth, [[4, 5, 7, 8]] * 3)
    # not in the start-frame table: the first 4 frames
    assert [f.name for f in seqs["Walking"].frames] == ["0001.jpg", "0002.jpg", "0003.jpg", "0004.jpg"]
    assert [s.name for s in load_otb(tmp_path, names=["Jogging-2"])] == ["Jogging-2"]


def test_otb_configured_start_frame(tmp_path):
    make_frames(tmp_path / "David" / "img", 770)
    write_rows(tmp_path / "David" / "groundtruth_rect.txt", [[1, 1, 2, 2]] * 471)
    (david,) = load_otb(tmp_path)
    assert david.frames[0].name == "0300.jpg" and david.frames[-1].name == "0770.jpg"


def test_wrong_row_count_and_missing_folder_name_the_path(tmp_path):
    make_frames(tmp_path / "Seq" / "img", 2)
    write_rows(tmp_path / "Seq" / "groundtruth_rect.txt", [[1, 1, 2, 2]] * 3)
    with pytest.raises(InputError, match="groundtruth_rect.txt: 3 annotation rows but only 2 frames"):
        load_otb(tmp_path)
    with pytest.raises(InputError, match="nowhere: OTB dataset folder not found"):
        load_dataset("otb", tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty"):
        load_dataset("otb", tmp_path / "empty")
    bad = tmp_path / "bad"
    make_frames(bad / "S" / "img", 2)
    (bad / "S" / "groundtruth_rect.txt").write_text("1,2,3,4\n1,2,3\n")
    with pytest.raises(InputError, match=r"groundtruth_rect.txt:2: expected 4 numbers"):
        load_otb(bad)
    with pytest.raises(InputError, match="unknown dataset kind"):
        load_dataset("mot17", tmp_path)
    with pytest.raises(InputError, match="no sequence named Nope"):
        load_otb(tmp_path / "bad", names=["Nope"])


def test_uav123_official_layout_with_subsequence_ranges(tmp_path):
    # 10 fps layout: truck4 spans 30 fps frames 1..1261 -> 421 frames at 10 fps
    make_frames(tmp_path / "data_seq" / "UAV123_10fps" / "truck4", 421, width=6)
    rows_1 = [[1, 2, 3, 4]] * 193  # truck4_1: 30 fps 1..577 -> 10 fps 1..193
    rows_2 = [[float("nan")] * 4] + [[1, 2, 3, 4]] * 228  # 577..1261 -> 193..421
    write_rows(tmp_path / "anno" / "UAV123_10fps" / "truck4_1.txt", rows_1)
    write_rows(tmp_path / "anno" / "UAV123_10fps" / "truck4_2.txt", rows_2)
    seqs = {s.name: s for s in load_uav123(tmp_path)}
    assert seqs["truck4_1"].frames[-1].name == "000193.jpg"
    assert seqs["truck4_2"].frames[0].name == "000193.jpg" and seqs["truck4_2"].frames[-1].name == "000421.jpg"
    assert seqs["truck4_2"].absent[0] and not seqs["truck4_2"].absent[1]
    assert np.isnan(seqs["truck4_2"].ground_truth[0]).all()


def test_lasot_layout_flags_and_split(tmp_path):
    seq = tmp_path / "airplane" / "airplane-1"
    make_frames(seq / "img", 4, width=8)
    write_rows(seq / "groundtruth.txt", [[11, 21, 5, 6]] * 4)
    (seq / "full_occlusion.txt").write_text("0,0,1,0")
    (seq / "out_of_view.txt").write_text("0,0,0,1")
    make_frames(tmp_path / "airplane" / "airplane-2" / "img", 1, width=8)
    write_rows(tmp_path / "airplane" / "airplane-2" / "groundtruth.txt", [[1, 1, 1, 1]])
    (tmp_path / "testing_set.txt").write_text("airplane-1\n")
    assert [s.name for s in load_lasot(tmp_path)] == ["airplane-1", "airplane-2"]
    (test,) = load_dataset("lasot", tmp_path, split="test")
    assert test.name == "airplane-1" and test.absent.tolist() == [False, False, True, True]
    np.testing.assert_array_equal(test.init_box, [10, 20, 5, 6])


def test_got10k_val_and_test_split(tmp_path):
    val = tmp_path / "val" / "GOT-10k_Val_000001"
    make_frames(val, 3, width=8)
    write_rows(val / "groundtruth.txt", [[2, 3, 4, 5]] * 3)
    (val / "absence.label").write_text("0\n1\n0\n")
    (val / "cover.label").write_text("8\n0\n5\n")
    (tmp_path / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    test = tmp_path / "test" / "GOT-10k_Test_000001"
    make_frames(test, 5, width=8)
    write_rows(test / "groundtruth.txt", [[2, 3, 4, 5]])
    (tmp_path / "test" / "list.txt").write_text("GOT-10k_Test_000001\n")
    (v,) = load_got10k(tmp_path)  # default split: val
    assert v.absent.tolist() == [False, True, False] and v.attributes["cover"].tolist() == [8, 0, 5]
    np.testing.assert_array_equal(v.init_box, [1, 2, 4, 5])
    (t,) = load_dataset("got10k", tmp_path, split="test")
    assert t.attributes["test_split"] and len(t) == 5 and np.isnan(t.ground_truth[1:]).all()
    (same,) = load_got10k(tmp_path / "val")  # a split folder itself
    assert same.name == "GOT-10k_Val_000001"


def test_vot_color_folder_and_box_rows(tmp_path):
    make_frames(tmp_path / "ball" / "color", 2, width=8)
    write_rows(tmp_path / "ball" / "groundtruth.txt", [[10, 20, 30, 40]] * 2)
    (tmp_path / "ball" / "occlusion.tag").write_text("0\n1\n")
    (tmp_path / "list.txt").write_text("ball\n")
    (ball,) = load_vot2018(tmp_path)
    assert ball.frames[0].parent.name == "color"
    np.testing.assert_array_equal(ball.polygons[0], [10, 20, 40, 20, 40, 60, 10, 60])
    np.testing.assert_array_equal(ball.ground_truth[0], [10, 20, 30, 40])
    assert ball.attributes["occlusion"].tolist() == [False, True]


def test_custom_single_and_multi(tmp_path):
    one = tmp_path / "clip"
    make_frames(one, 3, width=5, ext="png")
    write_rows(one / "groundtruth.txt", [[5, 5, 10, 10], [float("nan")] * 4])  # 2 rows for 3 frames
    (clip,) = load_custom(one)
    assert len(clip) == 2 and clip.absent.tolist() == [False, True]
    np.testing.assert_array_equal(clip.init_box, [5, 5, 10, 10])  # 0-based, unshifted
    assert [s.name for s in load_dataset("custom", tmp_path)] == ["clip"]


def test_imagenet_vid_is_dispatched_and_names_a_missing_root(tmp_path):
    missing = tmp_path / "ILSVRC2015"
    with pytest.raises(InputError, match="ILSVRC2015"):
        load_dataset("imagenet_vid", missing)
