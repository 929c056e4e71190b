"""Transformer pieces shared by the ST and DA modules: positional encodings and attention layers.

Feature maps ``(B, C, h, w)`` become token sequences ``(B, h*w, C)`` (row-major, ``batch_first``).
Positional encodings are added to queries and keys but not to values (DETR / TransT convention).
Layers are post-norm (``x = LayerNorm(x + Dropout(sublayer(x)))``) as in DETR, TransT and TrDiMP, the
transformer trackers the paper builds on. Everything here exports to ONNX (opset 17, static shapes).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from dastsiam.config import ConfigError

# largest feature-map side a learned positional encoding supports (DETR uses 50); search maps are <= 35
MAX_LEARNED_POSITIONS = 64


def flatten_tokens(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, h, w) -> (B, h*w, C)``."""
    return x.flatten(2).transpose(1, 2)


def unflatten_tokens(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(B, h*w, C) -> (B, C, h, w)``."""
    return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], height, width)


class SinePositionalEncoding(nn.Module):
    """DETR's 2-D sine encoding: half the channels encode the row, half the column (no parameters).

    Coordinates are normalised to ``(0, 2*pi]`` over the map, so maps of different sizes (template vs.
    search) span the same range.
    """

    def __init__(self, dim: int, temperature: float = 10000.0):
        super().__init__()
        if dim % 4:
            raise ValueError(f"sine positional encoding needs a dim divisible by 4, got {dim}")
        self.dim = dim
        self.temperature = temperature

    def forward(self, height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """``(1, h*w, dim)`` encoding."""
        half = self.dim // 2
        eps = 1e-6
        ys = (torch.arange(1, height + 1, device=device, dtype=torch.float32) / (height + eps)) * 2 * math.pi
        xs = (torch.arange(1, width + 1, device=device, dtype=torch.float32) / (width + eps)) * 2 * math.pi
        idx = torch.arange(half, device=device, dtype=torch.float32)
        freqs = self.temperature ** (2 * torch.div(idx, 2, rounding_mode="floor") / half)
        pos_y = ys[:, None] / freqs  # (h, half)
        pos_x = xs[:, None] / freqs  # (w, half)
        # interleave sin (even channels) and cos (odd channels), as DETR does
        pos_y = torch.stack((pos_y[:, 0::2].sin(), pos_y[:, 1::2].cos()), dim=2).flatten(1)
        pos_x = torch.stack((pos_x[:, 0::2].sin(), pos_x[:, 1::2].cos()), dim=2).flatten(1)
        grid_y = pos_y[:, None, :].expand(height, width, half)
        grid_x = pos_x[None, :, :].expand(height, width, half)
        return torch.cat((grid_y, grid_x), dim=2).reshape(1, height * width, self.dim).to(dtype)


class LearnedPositionalEncoding(nn.Module):
    """DETR's learned encoding: one embedding per row and per column (up to :data:`MAX_LEARNED_POSITIONS`)."""

    def __init__(self, dim: int, max_positions: int = MAX_LEARNED_POSITIONS):
        super().__init__()
        if dim % 2:
            raise ValueError(f"learned positional encoding needs an even dim, got {dim}")
        self.dim = dim
        self.max_positions = max_positions
        self.row = nn.Parameter(torch.empty(max_positions, dim // 2))
        self.col = nn.Parameter(torch.empty(max_positions, dim // 2))
        nn.init.uniform_(self.row)
        nn.init.uniform_(self.col)

    def forward(self, height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        if not torch.jit.is_tracing() and (height > self.max_positions or width > self.max_positions):
            raise ValueError(f"feature map {height}x{width} exceeds the learned encoding's "
                             f"{self.max_positions}x{self.max_positions}")
        half = self.dim // 2
        grid_y = self.row[:height, None, :].expand(height, width, half)
        grid_x = self.col[None, :width, :].expand(height, width, half)
        return torch.cat((grid_y, grid_x), dim=2).reshape(1, height * width, self.dim).to(dtype)


class NoPositionalEncoding(nn.Module):
    def forward(self, height: int, width: int, device: torch.device, dtype: torch.dtype) -> None:
        return None


def build_positional_encoding(kind: str, dim: int) -> nn.Module:
    if kind == "sine":
        return SinePositionalEncoding(dim)
    if kind == "learned":
        return LearnedPositionalEncoding(dim)
    if kind == "none":
        return NoPositionalEncoding()
    raise ValueError(f"unknown positional encoding {kind!r} (sine, learned or none)")


def _with_pos(x: torch.Tensor, pos: torch.Tensor | None) -> torch.Tensor:
    return x if pos is None else x + pos


class FeedForward(nn.Module):
    """Position-wise FFN ``Linear -> ReLU -> Dropout -> Linear``."""

    def __init__(self, dim: int, hidden: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class AttentionLayer(nn.Module):
    """One post-norm transformer layer: [self-attention] -> cross-attention -> FFN.

    ``self_attention=False`` gives the ST encoder layer (the query stream attends only to the memory);
    ``True`` gives the DA decoder layer (search tokens first attend to each other, then to the template).
    """

    def __init__(self, dim: int, heads: int, ffn_dim: int, dropout: float, self_attention: bool):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention dim {dim} is not divisible by {heads} heads")
        self.self_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True) if self_attention else None
        self.norm_self = nn.LayerNorm(dim) if self_attention else None
        self.cross_attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm_cross = nn.LayerNorm(dim)
        self.ffn = FeedForward(dim, ffn_dim, dropout)
        self.norm_ffn = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        query: torch.Tensor,
        memory: torch.Tensor,
        query_pos: torch.Tensor | None,
        memory_pos: torch.Tensor | None,
        values_from_query: bool = False,
    ) -> torch.Tensor:
        """``values_from_query=False``: standard cross-attention, ``Softmax(Q K_m^T) V_m`` (keys and values
        from ``memory``). ``True``: ST's eq. 2, ``Softmax(Q K_m^T) V_q``: the keys come from ``memory``, the
        values from the query stream itself (same number of tokens needed)."""
        x = query
        if self.self_attn is not None:
            q = _with_pos(x, query_pos)
            x = self.norm_self(x + self.dropout(self.self_attn(q, q, x, need_weights=False)[0]))
        values = x if values_from_query else memory
        attended = self.cross_attn(_with_pos(x, query_pos), _with_pos(memory, memory_pos), values, need_weights=False)[0]
        x = self.norm_cross(x + self.dropout(attended))
        return self.norm_ffn(x + self.dropout(self.ffn(x)))


class AdaptiveFilter(nn.Module):
    """The conv "adaptive filter" Phi: ``k x k conv (dim->dim) -> ReLU -> 1x1 conv (dim->channels)``.

    The last conv also maps the token width back to the model's feature width. With ``zero_init`` it starts
    at exactly zero (weights and bias), so ``Phi(.) == 0`` and the residual module is an identity until
    trained (the gradient still reaches the zero conv: d out / d W = input activations, which are non-zero).
    """

    def __init__(self, dim: int, channels: int, kernel: int, zero_init: bool):
        super().__init__()
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"filter_kernel must be odd and positive (keeps the map size), got {kernel}")
        self.conv = nn.Conv2d(dim, dim, kernel, padding=kernel // 2)
        self.act = nn.ReLU(inplace=True)
        self.out = nn.Conv2d(dim, channels, 1)
        if zero_init:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.conv(x)))


def validate_config(cfg, prefix: str) -> None:
    """Raise :class:`ConfigError` naming the ``st.`` / ``da.`` key whose value the modules cannot build."""
    if cfg.layers < 1:
        raise ConfigError(f"{prefix}.layers must be >= 1, got {cfg.layers}")
    if cfg.heads < 1 or cfg.dim % cfg.heads:
        raise ConfigError(f"{prefix}.dim ({cfg.dim}) must be divisible by {prefix}.heads ({cfg.heads})")
    if cfg.positional_encoding not in ("sine", "learned", "none"):
        raise ConfigError(f"{prefix}.positional_encoding must be sine, learned or none, got {cfg.positional_encoding!r}")
    if cfg.positional_encoding == "sine" and cfg.dim % 4:
        raise ConfigError(f"{prefix}.dim must be divisible by 4 for sine positional encoding, got {cfg.dim}")
    if cfg.filter_kernel < 1 or cfg.filter_kernel % 2 == 0:
        raise ConfigError(f"{prefix}.filter_kernel must be odd and positive (keeps the map size), got {cfg.filter_kernel}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ConfigError(f"{prefix}.dropout must be in [0, 1), got {cfg.dropout}")


def input_projection(channels: int, dim: int) -> nn.Module:
    """1x1 conv from the model's feature width to the token width (identity when they match)."""
    return nn.Identity() if channels == dim else nn.Conv2d(channels, dim, 1)


def attend(
    layers: nn.ModuleList, positional_encoding: nn.Module, query_map: torch.Tensor, memory_map: torch.Tensor,
    values_from_query: bool = False,
) -> torch.Tensor:
    """Run ``layers`` with ``query_map``'s cells as queries over ``memory_map``'s cells; returns a map on the
    query grid. Both maps are ``(B, dim, h, w)`` (already projected); each gets the encoding of its own grid.
    ``values_from_query``: the values are the query stream's tokens (ST, eq. 2) instead of the memory's."""
    height, width = query_map.shape[-2:]
    query_pos = positional_encoding(height, width, query_map.device, query_map.dtype)
    memory_pos = positional_encoding(memory_map.shape[-2], memory_map.shape[-1], memory_map.device, memory_map.dtype)
    query, memory = flatten_tokens(query_map), flatten_tokens(memory_map)
    for layer in layers:
        query = layer(query, memory, query_pos, memory_pos, values_from_query)
    return unflatten_tokens(query, height, width)
