"""Log-decayed learning rate and the backbone-freezing schedule."""

import math

import pytest
import torch
from torch import nn

from dastsiam.training.config import OptimConfig
from dastsiam.training.schedule import (
    apply_freezing, backbone_frozen, learning_rate, parameter_groups, set_learning_rate, set_train_mode,
)


def test_paper_lr_is_log_spaced_from_0005_to_00005():
    cfg = OptimConfig()  # 50 epochs, 0.005 -> 0.0005
    lrs = [learning_rate(cfg, e) for e in range(50)]
    assert lrs[0] == pytest.approx(0.005) and lrs[-1] == pytest.approx(0.0005)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert all(r == pytest.approx(0.1 ** (1 / 49)) for r in ratios)  # constant ratio = log-linear
    three = OptimConfig(epochs=3)
    assert learning_rate(three, 1) == pytest.approx(math.sqrt(0.005 * 0.0005))


def test_warmup_then_decay():
    cfg = OptimConfig(epochs=7, warmup_epochs=2, lr_warmup=0.001)
    assert [round(learning_rate(cfg, e), 6) for e in range(2)] == [0.001, 0.003]
    assert learning_rate(cfg, 2) == pytest.approx(0.005) and learning_rate(cfg, 6) == pytest.approx(0.0005)


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.neck = nn.Conv2d(4, 4, 1)
        self.head = nn.Conv2d(4, 2, 1)


def test_backbone_frozen_for_the_first_epochs_then_trained_with_scaled_lr():
    cfg = OptimConfig(freeze_backbone_epochs=10, backbone_lr_scale=0.1)
    assert [backbone_frozen(cfg, e) for e in (0, 9, 10, 49)] == [True, True, False, False]
    model = Toy()
    trainable = apply_freezing(model, cfg, epoch=9)
    assert trainable == {"neck.weight", "neck.bias", "head.weight", "head.bias"}
    set_train_mode(model)
    assert not model.backbone[1].training and model.head.training  # frozen BatchNorm keeps its statistics
    trainable = apply_freezing(model, cfg, epoch=10)
    assert "backbone.0.weight" in trainable and "backbone.1.weight" in trainable
    set_train_mode(model)
    assert model.backbone[1].training

    opt = torch.optim.SGD(parameter_groups(model, cfg), lr=1.0)
    set_learning_rate(opt, 0.005)
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert lrs == pytest.approx({"backbone": 0.0005, "rest": 0.005})


def test_prefixes_frozen_by_config_stay_frozen():
    cfg = OptimConfig(freeze_backbone_epochs=0, frozen=["neck", "head.bias"])
    trainable = apply_freezing(Toy(), cfg, epoch=5)
    assert trainable == {"backbone.0.weight", "backbone.0.bias", "backbone.1.weight", "backbone.1.bias",
                         "head.weight"}


def test_frozen_backbone_gets_no_update_in_a_step():
    model = Toy()
    cfg = OptimConfig(freeze_backbone_epochs=1)
    apply_freezing(model, cfg, 0)
    set_train_mode(model)
    opt = torch.optim.SGD(parameter_groups(model, cfg), lr=0.1, momentum=0.9, weight_decay=1e-4)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = model.head(model.neck(model.backbone(torch.rand(2, 3, 8, 8))))
    out.square().mean().backward()
    opt.step()
    after = model.state_dict()
    assert torch.equal(before["backbone.0.weight"], after["backbone.0.weight"])
    assert torch.equal(before["backbone.1.running_mean"], after["backbone.1.running_mean"])
    assert not torch.equal(before["head.weight"], after["head.weight"])


def test_the_other_reading_of_the_papers_schedule_holds_the_start_lr_through_the_frozen_epochs():
    # docs/training.md: "0.005 held through the 10 frozen epochs, then the decay over the last 40"
    from dastsiam.training.config import OptimConfig
    from dastsiam.training.schedule import learning_rate

    cfg = OptimConfig(warmup_epochs=10, lr_warmup=0.005)
    assert [learning_rate(cfg, e) for e in range(11)] == pytest.approx([0.005] * 11)
    assert abs(learning_rate(cfg, 49) - 0.0005) < 1e-12 and learning_rate(cfg, 30) < learning_rate(cfg, 20)
