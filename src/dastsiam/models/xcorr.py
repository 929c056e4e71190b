"""Cross-correlation of template features over search features (batched with grouped convolutions)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check(kernel: torch.Tensor, search: torch.Tensor) -> None:
    if torch.jit.is_tracing():
        return
    if kernel.shape[:2] != search.shape[:2]:
        raise ValueError(f"xcorr needs the same batch and channels, got kernel {tuple(kernel.shape)}, "
                         f"search {tuple(search.shape)}")
    if kernel.shape[-1] > search.shape[-1] or kernel.shape[-2] > search.shape[-2]:
        raise ValueError(f"xcorr kernel {tuple(kernel.shape[-2:])} is larger than the search map {tuple(search.shape[-2:])}")


def xcorr_depthwise(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-channel correlation: ``(B, C, H, W) * (B, C, h, w) -> (B, C, H-h+1, W-w+1)`` (SiamRPN++)."""
    _check(kernel, search)
    batch, channels = kernel.shape[:2]
    x = search.reshape(1, batch * channels, search.shape[2], search.shape[3])
    k = kernel.reshape(batch * channels, 1, kernel.shape[2], kernel.shape[3])
    out = F.conv2d(x, k, groups=batch * channels)
    return out.reshape(batch, channels, out.shape[2], out.shape[3])


def xcorr_full(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Channel-summed correlation: ``(B, C, H, W) * (B, C, h, w) -> (B, 1, H-h+1, W-w+1)`` (SiamFC)."""
    _check(kernel, search)
    batch = kernel.shape[0]
    x = search.reshape(1, batch * search.shape[1], search.shape[2], search.shape[3])
    out = F.conv2d(x, kernel, groups=batch)
    return out.reshape(batch, 1, out.shape[2], out.shape[3])
