"""Siamese tracking models: tensor in, tensor out (see :mod:`dastsiam.models.base`)."""

from dastsiam.models.base import HeadOutput, SiameseModel
from dastsiam.models.config import DAConfig, ModelConfig, STConfig
from dastsiam.models.geometry import OutputGeometry
from dastsiam.models.registry import BUILTIN_MODELS, DEFAULT_MODEL, build_model, load_model, save_weights

__all__ = [
    "HeadOutput", "SiameseModel", "ModelConfig", "STConfig", "DAConfig", "OutputGeometry",
    "BUILTIN_MODELS", "DEFAULT_MODEL", "build_model", "load_model", "save_weights",
]
