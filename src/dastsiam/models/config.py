"""Typed model configuration (loaded strictly from YAML via :mod:`dastsiam.config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class TransformerConfig:
    """Shared knobs of the ST and DA transformer modules (paper Sec. 2.1 eq. 1-4 and Sec. 2.2 eq. 5; choices in docs/models.md)."""

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

    # Roles in the cross-attention (docs/models.md). Paper eq. 2: Softmax(Q_c K_a^T / sqrt(d)) V_c, i.e. the
    # current template f_c gives the queries AND the values, the accumulated template f_a the keys:
    # query "current" + value "query" (the default). value "key" takes the values from the key template
    # (standard cross-attention: queries attend to and read from the other template; the pre-2026-11-29 roles).
    query: Literal["current", "accumulated"] = "current"
    value: Literal["query", "key"] = "query"


@dataclass
class DAConfig(TransformerConfig):
    """Discriminative augmentation on the search features: ``DA = Phi(Decoder(f_z*, f_s)) + f_s``."""

    self_attention: bool = True  # self-attention over search tokens before the cross-attention


@dataclass
class ModelConfig:
    # r50: the paper's SiamRPN on ResNet-50; mobilenetv2: the same network on pysot's SiamRPN++ MobileNetV2
    # backbone (ImageNet weights ship offline: the CPU pre-flight of the recipe, docs/reproduce.md);
    # fear: FEAR-XS (models/fear.py)
    arch: Literal["r50", "mobilenetv2", "alexnet", "nano", "fear"] = "r50"
    nano_version: Literal["v2", "v3"] = "v2"  # only for arch == "nano"
    # only for arch r50 / mobilenetv2: "anchor" = SiamRPN's anchors (5 ratios x 1 scale per cell, normalised offsets;
    # the paper's); "ltrb" = one anchor-free prediction per cell (left/top/right/bottom distances)
    head: Literal["anchor", "ltrb"] = "anchor"
    st: STConfig = field(default_factory=STConfig)
    da: DAConfig = field(default_factory=DAConfig)
    # classification branches the tracker's gate reads (docs/tracking.md, "gate"): cls = the 2-way softmax
    # branch only; cls_conf = it plus the BCE confidence branch (the paper's weighted sum, Sec. 2.3); conf =
    # the confidence branch only. For arch nano, cls_conf / conf add the confidence branch to the head
    # (NanoTrack has none); r50 / mobilenetv2 heads always have it.
    confidence: Literal["cls", "cls_conf", "conf"] = "cls_conf"
