"""ST: spatio-temporal fusion of template features (DASTSiam Sec. 2.1, eq. 1-4).

    ST = Phi(Encoder(f_a, f_c)) + f_i

``f_i`` is the initial frame's template, ``f_c`` the current template (from the latest confident frame),
``f_a`` the accumulated template (the previous ST output). A cross-attention encoder fuses ``f_c`` and
``f_a``; the conv "adaptive filter" Phi cleans the result; adding ``f_i`` back keeps the model anchored to
the only template known to be correct.

Roles (eq. 2, ``CrossAttn = Softmax(Q_c K_a^T / sqrt(d)) V_c``): by default ``f_c`` gives the queries and the
values and ``f_a`` the keys, so the attention matrix (eq. 4) measures how similar each current-template cell
is to the history and re-weights the current template's own values. ``STConfig.query`` / ``STConfig.value``
switch to the other roles (``value: key`` = standard cross-attention reading the values from the key
template); choices and defaults: docs/models.md.
"""

from __future__ import annotations

import torch
from torch import nn

from dastsiam.config import ConfigError
from dastsiam.models.attention import (
    AdaptiveFilter,
    AttentionLayer,
    build_positional_encoding,
    attend,
    input_projection,
    validate_config,
)
from dastsiam.models.config import STConfig


class SpatioTemporalFusion(nn.Module):
    """``forward(f_a, f_c, f_i) -> (B, C, h, w)``; all inputs ``(B, C, h, w)`` with ``C == channels``.

    The features are projected to ``cfg.dim`` tokens when ``channels != cfg.dim`` (one shared 1x1 conv:
    all three templates come from the same backbone/neck), and Phi maps back to ``channels``.
    With ``cfg.zero_init`` the output equals ``f_i`` exactly until trained.
    """

    def __init__(self, cfg: STConfig, channels: int):
        super().__init__()
        if cfg.query not in ("current", "accumulated"):
            raise ConfigError(f"st.query must be 'current' or 'accumulated', got {cfg.query!r}")
        if cfg.value not in ("query", "key"):
            raise ConfigError(f"st.value must be 'query' or 'key', got {cfg.value!r}")
        validate_config(cfg, "st")
        self.query_is_current = cfg.query == "current"
        self.values_from_query = cfg.value == "query"
        self.proj = input_projection(channels, cfg.dim)
        self.pos = build_positional_encoding(cfg.positional_encoding, cfg.dim)
        self.layers = nn.ModuleList(
            AttentionLayer(cfg.dim, cfg.heads, cfg.ffn_dim, cfg.dropout, self_attention=False) for _ in range(cfg.layers)
        )
        self.filter = AdaptiveFilter(cfg.dim, channels, cfg.filter_kernel, cfg.zero_init)

    def encode(self, f_a: torch.Tensor, f_c: torch.Tensor) -> torch.Tensor:
        """``Encoder(f_a, f_c)`` as a ``(B, dim, h, w)`` map on the query template's grid (eq. 2-4)."""
        query_map, memory_map = (f_c, f_a) if self.query_is_current else (f_a, f_c)
        return attend(self.layers, self.pos, self.proj(query_map), self.proj(memory_map), self.values_from_query)

    def forward(self, f_a: torch.Tensor, f_c: torch.Tensor, f_i: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and not (f_a.shape == f_c.shape == f_i.shape):
            raise ValueError(f"ST needs templates of one shape, got f_a {tuple(f_a.shape)}, "
                             f"f_c {tuple(f_c.shape)}, f_i {tuple(f_i.shape)}")
        return self.filter(self.encode(f_a, f_c)) + f_i
