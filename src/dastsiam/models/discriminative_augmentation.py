"""DA: discriminative augmentation of search features (DASTSiam Sec. 2.2, eq. 5).

    DA = Phi(Decoder(f_z*, f_s)) + f_s

``f_s`` are the search-region features, ``f_z*`` the fused template (the ST output, or ``f_i`` in a model
without ST). The decoder runs self-attention over the search tokens (``DAConfig.self_attention``), then
cross-attention from the search tokens (queries) to the template tokens (keys/values), then an FFN; the
conv "adaptive filter" Phi and the residual keep the search features' shape and meaning, so the
correlation head that follows is unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from dastsiam.models.attention import (
    AdaptiveFilter,
    AttentionLayer,
    build_positional_encoding,
    attend,
    input_projection,
    validate_config,
)
from dastsiam.models.config import DAConfig


class DiscriminativeAugmentation(nn.Module):
    """``forward(f_z, f_s) -> (B, C, H, W)`` (the shape of ``f_s``); ``f_z`` is ``(B, C, h, w)``, ``C == channels``.

    Template and search get separate 1x1 projections to ``cfg.dim`` when ``channels != cfg.dim``.
    With ``cfg.zero_init`` the output equals ``f_s`` exactly until trained.
    """

    def __init__(self, cfg: DAConfig, channels: int):
        super().__init__()
        validate_config(cfg, "da")
        self.proj_search = input_projection(channels, cfg.dim)
        self.proj_template = input_projection(channels, cfg.dim)
        self.pos = build_positional_encoding(cfg.positional_encoding, cfg.dim)
        self.layers = nn.ModuleList(
            AttentionLayer(cfg.dim, cfg.heads, cfg.ffn_dim, cfg.dropout, self_attention=cfg.self_attention)
            for _ in range(cfg.layers)
        )
        self.filter = AdaptiveFilter(cfg.dim, channels, cfg.filter_kernel, cfg.zero_init)

    def decode(self, f_z: torch.Tensor, f_s: torch.Tensor) -> torch.Tensor:
        """``Decoder(f_z*, f_s)`` as a ``(B, dim, H, W)`` map on the search grid."""
        return attend(self.layers, self.pos, self.proj_search(f_s), self.proj_template(f_z))

    def forward(self, f_z: torch.Tensor, f_s: torch.Tensor) -> torch.Tensor:
        if not torch.jit.is_tracing() and f_z.shape[:2] != f_s.shape[:2]:
            raise ValueError(f"DA needs template and search features with the same batch and channels, "
                             f"got f_z {tuple(f_z.shape)}, f_s {tuple(f_s.shape)}")
        return self.filter(self.decode(f_z, f_s)) + f_s
