from dataclasses import dataclass, field
from typing import Literal

import pytest

from dastsiam.config import ConfigError, from_dict, load_yaml, replace_path, save_yaml, to_dict
from dastsiam.models.config import ModelConfig


@dataclass
class Inner:
    rate: float = 0.1
    kind: Literal["a", "b"] = "a"


@dataclass
class Outer:
    name: str
    steps: int = 3
    inner: Inner = field(default_factory=Inner)
    sizes: list[int] = field(default_factory=list)


def test_round_trip(tmp_path):
    cfg = from_dict(Outer, {"name": "x", "inner": {"rate": 2, "kind": "b"}, "sizes": [1, 2]})
    assert cfg.inner.rate == 2.0 and isinstance(cfg.inner.rate, float)
    save_yaml(cfg, tmp_path / "c.yaml")
    assert load_yaml(Outer, tmp_path / "c.yaml") == cfg


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x", "stepz": 1}, "stepz: unknown key"),
        ({"name": "x", "inner": {"rte": 1}}, "inner.rte: unknown key"),
        ({"name": "x", "steps": "3"}, "steps: expected an integer"),
        ({"name": "x", "steps": True}, "steps: expected an integer"),
        ({"name": "x", "inner": {"kind": "c"}}, "inner.kind: 'c' is not one of"),
        ({"name": "x", "sizes": [1, "2"]}, "sizes[1]: expected an integer"),
        ({}, "name: required key is missing"),
    ],
)
def test_strict_errors_name_the_key(data, message):
    with pytest.raises(ConfigError) as info:
        from_dict(Outer, data, where="exp.yaml")
    assert message in str(info.value)
    assert "exp.yaml" in str(info.value)


def test_load_yaml_names_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("arch: r50\nst: {enabled: yes, heads: eight}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml.st.heads: expected an integer"):
        load_yaml(ModelConfig, path)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_yaml(ModelConfig, tmp_path / "missing.yaml")


def test_replace_path_validates():
    cfg = ModelConfig()
    assert replace_path(cfg, "st.heads", 4).st.heads == 4
    assert cfg.st.heads == 8  # original untouched
    with pytest.raises(ConfigError):
        replace_path(cfg, "st.nope", 1)
    assert to_dict(cfg)["da"]["positional_encoding"] == "sine"
