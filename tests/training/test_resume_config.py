"""Resuming checks the checkpoint's model config with defaults filled in, so new ModelConfig switches
(e.g. `head`, `st.value`) do not strand checkpoints written before they existed."""

from dastsiam.config import to_dict
from dastsiam.models.registry import BUILTIN_MODELS
from dastsiam.training.trainer import _same_model_config


def test_old_checkpoint_config_without_new_keys_still_matches():
    cfg = BUILTIN_MODELS["nano-st-da"].config
    saved = to_dict(cfg)
    del saved["head"]
    del saved["st"]["value"]  # written before these switches existed: their defaults are what it trained with
    assert _same_model_config(saved, cfg)
    assert not _same_model_config({**saved, "confidence": "cls"}, cfg)  # a real difference
    assert not _same_model_config({**saved, "st": {**saved["st"], "value": "key"}}, cfg)
    assert not _same_model_config({**saved, "no_such_key": 1}, cfg)
    assert not _same_model_config(None, cfg)
