"""Training crops: the warp puts the target exactly where the returned box says (incl. flips and the fast
reduced-size decode), and augmentation stays within its configured bounds."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from dastsiam.training.augment import augmented_crop, context_side, map_box, warp_crop
from dastsiam.training.config import CropAugConfig


def white_rect_frame(tmp_path, box, size=(720, 1280)):
    frame = np.zeros(size + (3,), np.uint8)
    x, y, w, h = box
    frame[y:y + h, x:x + w] = 255
    path = tmp_path / "frame.png"
    cv2.imwrite(str(path), frame)
    return frame, path


def bright_extent(crop):
    ys, xs = np.nonzero(crop[..., 1] > 127)
    return np.array([xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()], float)


def test_context_side():
    assert context_side(np.array([0, 0, 10, 30])) == pytest.approx(np.sqrt(30 * 50))


@pytest.mark.parametrize("flip", [False, True])
def test_crop_box_matches_pixels(tmp_path, flip):
    frame, _ = white_rect_frame(tmp_path, (400, 300, 64, 32))
    box = np.array([400.0, 300.0, 64.0, 32.0])
    # 256 frame pixels -> 128 crop pixels: the 64x32 target becomes 32x16, centred at (64 + 8, 64 - 4)
    crop, m = warp_crop(frame, (400 + 32 - 16, 300 + 16 + 8), 256, 128, flip=flip)
    mapped = map_box(box, m)
    expected_x = 64 - 8 - 16 if flip else 64 + 8 - 16
    np.testing.assert_allclose(mapped, [expected_x, 64 - 4 - 8, 32, 16])
    np.testing.assert_allclose(bright_extent(crop), mapped, atol=1)


def test_reduced_decode_gives_the_same_crop(tmp_path):
    frame, path = white_rect_frame(tmp_path, (500, 200, 160, 120))
    box = np.array([500.0, 200.0, 160.0, 120.0])
    full, m_full = warp_crop(frame, (580, 260), 600, 127)
    half_image = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_2)
    half, m_half = warp_crop(half_image, (580, 260), 600, 127, image_scale=0.5)
    np.testing.assert_allclose(m_full, m_half)
    assert np.abs(full.astype(int) - half.astype(int)).mean() < 3
    np.testing.assert_allclose(bright_extent(half), map_box(box, m_full), atol=1)


def test_augmented_crop_keeps_target_within_shift_and_scale(tmp_path):
    _, path = white_rect_frame(tmp_path, (600, 300, 80, 80))
    box = np.array([600.0, 300.0, 80.0, 80.0])
    aug = CropAugConfig(shift=20, scale=0.1, blur=0.5, flip=0.5, colour=1.0, gray=0.2)
    side = 2 * context_side(box)
    rng = np.random.default_rng(0)
    for _ in range(20):
        crop, crop_box = augmented_crop(path, box, side, 255, aug, 0.1, rng)
        assert crop.shape == (255, 255, 3) and crop.dtype == np.uint8
        cx, cy = crop_box[0] + crop_box[2] / 2, crop_box[1] + crop_box[3] / 2
        assert abs(cx - 127.5) <= 20 + 1e-6 and abs(cy - 127.5) <= 20 + 1e-6
        nominal = 80 * 255 / side
        assert nominal / 1.1 - 1e-6 <= crop_box[2] <= nominal / 0.9 + 1e-6


def test_unreadable_frame_is_an_input_error(tmp_path):
    from dastsiam.errors import InputError

    with pytest.raises(InputError, match="missing.jpg"):
        augmented_crop(tmp_path / "missing.jpg", np.array([0, 0, 10, 10.0]), 50, 127, CropAugConfig(), 0.1,
                       np.random.default_rng(0))


def test_noisy_templates_get_image_noise_not_only_box_jitter(shared_data, tmp_path, monkeypatch):
    """Sec. 2.3: noise is added to T_a and T_c. Their crops use augmentation.noisy_template (blur, Gaussian pixel
    noise, colour); T_i and the search crop do not."""
    import dataclasses

    from dastsiam.config import replace_path
    from dastsiam.training import data as data_module
    from dastsiam.training.augment import colour_jitter
    from dastsiam.training.config import CropAugConfig, DataSourceConfig, load_train_config
    from dastsiam.training.trainer import Trainer

    rng = np.random.default_rng(0)
    flat = np.full((64, 64, 3), 128, np.uint8)
    noisy = colour_jitter(flat, CropAugConfig(colour=0.0, noise=1.0, noise_std=8.0), 0.1, rng)
    assert 1.5 < noisy.astype(float).std() < 9 and abs(noisy.astype(float).mean() - 128) < 1
    assert np.array_equal(colour_jitter(flat, CropAugConfig(colour=0.0), 0.1, rng), flat)

    cfg = load_train_config(Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml")
    cfg = dataclasses.replace(cfg, data=[DataSourceConfig(kind="got10k", root=shared_data / "train")])
    cfg = replace_path(cfg, "runtime.out_dir", str(tmp_path))
    trainer = Trainer(cfg)
    used = []
    real = data_module.augmented_crop

    def spy(path, box, side, out_size, aug, colour_strength, rng):
        used.append((out_size, aug))
        return real(path, box, side, out_size, aug, colour_strength, rng)

    monkeypatch.setattr(data_module, "augmented_crop", spy)
    trainer.dataset[3]
    noisy_aug = cfg.augmentation.noisy_template
    assert noisy_aug.blur > 0 and noisy_aug.noise > 0  # the default
    assert [aug for _, aug in used] == [cfg.augmentation.template, noisy_aug, noisy_aug, cfg.augmentation.search]


def test_box_shaped_region_is_fears_extended_box():
    """crop_shape "box": the template region is FEAR's extend_bbox, (1 + 2 c) w x (1 + 2 c) h, not a square."""
    from dastsiam.tracking.fear import extend_box
    from dastsiam.training.augment import template_region

    box = np.array([100.0, 50.0, 30.0, 90.0])
    np.testing.assert_allclose(template_region(box, 0.2, "box"), [42.0, 126.0])
    np.testing.assert_allclose(template_region(box, 0.2, "box"), extend_box(box, 0.2, integer=False)[2:])
    np.testing.assert_allclose(template_region(box, 0.5, "square"), [context_side(box)] * 2)


def test_box_shaped_crop_makes_a_tall_target_square(tmp_path):
    """A 30 x 90 target cut as FEAR's tracker cuts it fills 128 / 1.4 = 91.4 px of the 128 template crop in both
    directions, and 256 / 5 = 51.2 px of the 256 search crop (region 5 w x 5 h), centred."""
    from dastsiam.training.augment import template_region

    frame, path = white_rect_frame(tmp_path, (600, 300, 30, 90))
    box = np.array([600.0, 300.0, 30.0, 90.0])
    region = template_region(box, 0.2, "box")
    crop, crop_box = augmented_crop(path, box, tuple(region), 128, CropAugConfig(colour=0.0), 0.1,
                                    np.random.default_rng(0))
    side = 128 / 1.4
    np.testing.assert_allclose(crop_box, [64 - side / 2, 64 - side / 2, side, side])
    np.testing.assert_allclose(bright_extent(crop), crop_box, atol=1)
    search, search_box = augmented_crop(path, box, tuple(region * 5 / 1.4), 256, CropAugConfig(colour=0.0), 0.1,
                                        np.random.default_rng(0))
    np.testing.assert_allclose(search_box, [128 - 25.6, 128 - 25.6, 51.2, 51.2])
    np.testing.assert_allclose(bright_extent(search), search_box, atol=1)


def test_box_shaped_jitter_is_per_axis_in_crop_pixels(tmp_path):
    """Shift (crop pixels) and scale jitter act on the box-shaped crop as on the square one: the target's
    centre stays within `shift` crop pixels of the centre on both axes, its crop size within the scale range."""
    from dastsiam.training.augment import template_region

    _, path = white_rect_frame(tmp_path, (600, 300, 20, 100))
    box = np.array([600.0, 300.0, 20.0, 100.0])
    region = template_region(box, 2.0, "box")  # 5 w x 5 h
    aug = CropAugConfig(shift=30, scale=0.15, flip=0.5)
    rng = np.random.default_rng(1)
    for _ in range(20):
        _, crop_box = augmented_crop(path, box, tuple(region), 256, aug, 0.1, rng)
        cx, cy = crop_box[0] + crop_box[2] / 2, crop_box[1] + crop_box[3] / 2
        assert abs(cx - 128) <= 30 + 1e-6 and abs(cy - 128) <= 30 + 1e-6
        assert crop_box[2] == pytest.approx(crop_box[3])  # the same factor on both axes: still square
        assert 51.2 / 1.15 - 1e-6 <= crop_box[2] <= 51.2 / 0.85 + 1e-6


def test_box_shaped_training_crop_equals_fears_tracker_crop(shared_data):
    """On a real frame, the training crop (crop_shape box, no augmentation) shows what FEAR's tracker feeds its
    template branch (FearDecoder.exemplar, sub-pixel rounding): the same pixels up to resampling."""
    from dastsiam.tracking.crop import frame_mean, get_rect_subwindow
    from dastsiam.tracking.fear import extend_box
    from dastsiam.training.augment import template_region

    folder = shared_data / "OTB" / "Crossing"
    path = folder / "img" / "0001.jpg"
    image = cv2.imread(str(path))
    box = np.array([float(v) for v in (folder / "groundtruth_rect.txt").read_text().split("\n")[0].replace(",", " ").split()])
    box[:2] -= 1  # OTB's 1-based corner
    tracker_crop = get_rect_subwindow(image, extend_box(box, 0.2, integer=False), 128, frame_mean(image))
    train_crop, _ = augmented_crop(path, box, tuple(template_region(box, 0.2, "box")), 128,
                                   CropAugConfig(colour=0.0), 0.1, np.random.default_rng(0))
    difference = np.abs(train_crop.astype(int) - tracker_crop.astype(int))
    assert difference.max() <= 1  # identical here (OpenCV 5.0); a grey level of slack for other versions
    square_crop, _ = augmented_crop(path, box, context_side(box, 0.2), 128, CropAugConfig(colour=0.0), 0.1,
                                    np.random.default_rng(0))
    assert np.abs(square_crop.astype(int) - tracker_crop.astype(int)).mean() > 10  # what the square crop missed
