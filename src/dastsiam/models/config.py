"""Typed model configuration (loaded strictly from YAML via :mod:`dastsiam.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class TransformerConfig:
    """Shared knobs of the ST and DA transformer modules (paper Sec. 3.2/3.3; choices in docs/design.md)."""

    enabled: bool = False
    dim: int = 256  # token width; features are projected to it when the model's channels differ
    heads: int = 8
    layers: int = 1
    ffn_dim: int = 1024
    dropout: float = 0.1
    positional_encoding: Literal["sine", "learned", "none"] = "sine"
    filter_kernel: int = 3  # kernel of the conv "adaptive filter" Phi
    zero_init: bool = True  # last conv of Phi starts at zero -> module is an identity until trained


@dataclass
class STConfig(TransformerConfig):
    """Spatio-temporal fusion on the template: ``ST = Phi(Encoder(f_a, f_c)) + f_i``."""

    # which template gives the attention queries; the other one gives keys/values
    query: Literal["current", "accumulated"] = "current"


@dataclass
class DAConfig(TransformerConfig):
    """Discriminative augmentation on the search features: ``DA = Phi(Decoder(f_z*, f_s)) + f_s``."""

    self_attention: bool = True  # self-attention over search tokens before the cross-attention


@dataclass
class ModelConfig:
    arch: Literal["r50", "alexnet", "nano"] = "r50"
    nano_version: Literal["v2", "v3"] = "v2"  # only for arch == "nano"
    st: STConfig = field(default_factory=STConfig)
    da: DAConfig = field(default_factory=DAConfig)
    # branch of the head used for the tracker's score; see docs/design.md ("gate confidence")
    confidence: Literal["cls", "cls_conf", "conf"] = "cls_conf"
