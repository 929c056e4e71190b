"""Issue 7.6: the paper's ResNet-50 starts from ImageNet weights (torchvision / timm state dicts), never random."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dastsiam.cli.main import main
from dastsiam.config import ConfigError
from dastsiam.errors import ModelError
from dastsiam.models.config import ModelConfig
from dastsiam.models.registry import build_model
from dastsiam.models.resnet import load_imagenet_backbone, load_imagenet_weights


def _bn(prefix: str, width: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    return {f"{prefix}.weight": torch.rand(width, generator=g) + 0.5, f"{prefix}.bias": torch.randn(width, generator=g),
            f"{prefix}.running_mean": torch.randn(width, generator=g),
            f"{prefix}.running_var": torch.rand(width, generator=g) + 0.5,
            f"{prefix}.num_batches_tracked": torch.tensor(7)}


def torchvision_resnet50_state(seed: int = 0, upto: int = 3) -> dict[str, torch.Tensor]:
    """torchvision ``resnet50().state_dict()`` names and shapes, written out from the architecture (He et al.
    2016: bottleneck widths 64/128/256/512, 3/4/6/3 blocks, expansion 4) for conv1 .. layer``upto``, plus the
    first layer4 conv and fc (which the loader must ignore). Random values."""
    g = torch.Generator().manual_seed(seed)
    state = {"conv1.weight": torch.randn(64, 3, 7, 7, generator=g), **_bn("bn1", 64, g)}
    inplanes = 64
    for layer, (planes, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)][:upto], start=1):
        for b in range(blocks):
            p = f"layer{layer}.{b}"
            cin = inplanes if b == 0 else planes * 4
            state[f"{p}.conv1.weight"] = torch.randn(planes, cin, 1, 1, generator=g)
            state[f"{p}.conv2.weight"] = torch.randn(planes, planes, 3, 3, generator=g)
            state[f"{p}.conv3.weight"] = torch.randn(planes * 4, planes, 1, 1, generator=g)
            for k, width in ((1, planes), (2, planes), (3, planes * 4)):
                state.update(_bn(f"{p}.bn{k}", width, g))
            if b == 0:
                state[f"{p}.downsample.0.weight"] = torch.randn(planes * 4, cin, 1, 1, generator=g)
                state.update(_bn(f"{p}.downsample.1", planes * 4, g))
        inplanes = planes * 4
    state["layer4.0.conv1.weight"] = torch.zeros(512, 1024, 1, 1)
    state["fc.weight"] = torch.zeros(1000, 2048)
    state["fc.bias"] = torch.zeros(1000)
    return state


def _check_loaded(model, state):
    bb = model.backbone
    assert torch.equal(bb.conv1.weight, state["conv1.weight"])
    assert torch.equal(bb.bn1.running_var, state["bn1.running_var"])
    # our layer2/3 shortcut is (crop, conv, bn): torchvision's downsample.0 / .1 land on .1 / .2
    assert torch.equal(bb.layer2[0].downsample[1].weight, state["layer2.0.downsample.0.weight"])
    assert torch.equal(bb.layer3[0].downsample[2].running_mean, state["layer3.0.downsample.1.running_mean"])
    assert torch.equal(bb.layer3[5].conv2.weight, state["layer3.5.conv2.weight"])
    assert torch.equal(bb.layer1[2].bn3.bias, state["layer1.2.bn3.bias"])


@pytest.mark.parametrize("fmt", ["pth", "safetensors", "timm_wrapped"])
def test_r50_backbone_loads_imagenet_state_dicts(tmp_path, fmt):
    state = torchvision_resnet50_state()
    path = tmp_path / f"resnet50.{'safetensors' if fmt == 'safetensors' else 'pth'}"
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    elif fmt == "timm_wrapped":  # a training checkpoint: {"state_dict": {"module.conv1.weight": ...}}
        torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, path)
    else:
        torch.save(state, path)
    model = build_model(ModelConfig(arch="r50"))
    assert load_imagenet_backbone(model, path) == len(model.backbone.state_dict())
    _check_loaded(model, state)


def test_bad_imagenet_files_are_one_line_errors(tmp_path):
    model = build_model(ModelConfig(arch="r50"))
    state = torchvision_resnet50_state(upto=2)  # no layer3
    torch.save(state, tmp_path / "short.pth")
    with pytest.raises(ModelError, match=r"short.pth: no 'layer3.0.conv1.weight'"):
        load_imagenet_weights(model.backbone, tmp_path / "short.pth")
    state = torchvision_resnet50_state()
    state["layer1.0.conv2.weight"] = torch.zeros(64, 64, 1, 1)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(ModelError, match=r"layer1.0.conv2.weight has shape \(64, 64, 1, 1\)"):
        load_imagenet_weights(model.backbone, tmp_path / "shape.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="junk.pth: not a readable weights file"):
        load_imagenet_weights(model.backbone, tmp_path / "junk.pth")
    with pytest.raises(ConfigError, match="arch r50"):
        load_imagenet_backbone(build_model(ModelConfig(arch="alexnet")), tmp_path / "shape.pth")


R50_CONFIG = """
name: r50_init
model: {arch: r50, st: {enabled: true}, da: {enabled: true}}
data:
  - {kind: uav123, root: DATA}
sampling: {mode: triplet, window: 50}
optim: {epochs: 1, samples_per_epoch: 1, batch_size: 1, freeze_backbone_epochs: 1}
runtime: {device: cpu, workers: 0, threads: 1, out_dir: OUT, progress: false, tensorboard: false, max_steps: 1}
"""


def test_dastsiam_train_r50_without_imagenet_weights_stops_with_one_line(tmp_path, capsys):
    cfg = tmp_path / "r50.yaml"
    cfg.write_text(R50_CONFIG.replace("DATA", str(tmp_path / "nowhere")).replace("OUT", str(tmp_path / "run")))
    assert main(["train", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dastsiam: error:") and "\n" not in err
    assert "ImageNet ResNet-50" in err and "--backbone" in err and "init.backbone" in err
    # the paper configs carry no weights: they stop the same way, before touching their (placeholder) data
    assert main(["train", str(Path(__file__).resolve().parents[2] / "configs" / "dastsiam_r50.yaml")]) == 2
    assert "--backbone" in capsys.readouterr().err


def test_trainer_starts_r50_from_the_imagenet_file(tmp_path):
    import numpy as np

    from dastsiam.config import replace_path
    from dastsiam.training.config import load_train_config
    from dastsiam.training.data import TrackSource
    from dastsiam.training.trainer import Trainer

    state = torchvision_resnet50_state(seed=1)
    torch.save(state, tmp_path / "resnet50.pth")
    cfg = tmp_path / "r50.yaml"
    cfg.write_text(R50_CONFIG.replace("DATA", str(tmp_path)).replace("OUT", str(tmp_path / "run")))
    train_cfg = replace_path(load_train_config(cfg), "init.backbone", str(tmp_path / "resnet50.pth"))
    frames = np.array([str(tmp_path / f"{i}.jpg") for i in range(3)])  # never read: no step is run
    source = TrackSource("seq", frames, np.tile([10.0, 10.0, 20.0, 20.0], (3, 1)), np.arange(3))
    trainer = Trainer(train_cfg, sources=[[source]])
    _check_loaded(trainer.model, state)
