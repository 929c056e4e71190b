"""The interface every Siamese model implements (tensor in, tensor out).

Image tensors entering a model are ``float32 (B, 3, H, W)`` crops in **BGR order with values 0..255**
(OpenCV's order, as pysot and NanoTrack train); each model applies its own normalisation internally.

Inference (used by :class:`dastsiam.tracking.Tracker`):

* ``template(z) -> f``: template features of a ``(B, 3, E, E)`` exemplar crop (``E = geometry.exemplar_size``).
  The first frame's gives ``f_i``; later ones give the current template ``f_c``.
* ``fuse(f_a, f_c, f_i) -> f_z*``: the spatio-temporal fusion (ST, eq. for ``ST = Phi(Encoder(f_a, f_c)) + f_i``).
  Models without ST return ``f_i`` unchanged.
* ``track(x, f_z) -> HeadOutput``: head maps for a ``(B, 3, I, I)`` search crop (``I = geometry.instance_size``),
  with DA applied to the search features when the model has it.

Training calls ``forward(z_i, x, z_a=None, z_c=None)``, which runs the same path with the ST fusion when all
three templates are given.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import torch
from torch import nn

from dastsiam.models.geometry import OutputGeometry


class HeadOutput(NamedTuple):
    """Head maps over the ``score_size`` x ``score_size`` output grid.

    cls:  ``(B, 2, S, S)`` logits, channel 1 = target (2-way cross-entropy branch, ``L_cls1``);
          SiamFC gives ``(B, 1, S, S)`` response logits instead.
    loc:  ``(B, 4, S, S)`` distances ``left, top, right, bottom`` from each cell's crop point
          (:meth:`OutputGeometry.cell_centers`) to the box edges, in crop pixels; ``None`` for SiamFC.
    conf: ``(B, 1, S, S)`` FCOS-style confidence logits (BCE branch, ``L_cls2``); ``None`` if absent.

    An anchor head (``geometry.num_anchors = K > 0``, :class:`dastsiam.models.heads.AnchorHead`) gives one
    prediction per anchor instead: ``cls (B, 2K, S, S)`` (channel ``c * K + k``), ``loc (B, 4K, S, S)``
    SiamRPN's normalised offsets ``dx, dy, dw, dh`` (channel ``i * K + k``), ``conf (B, K, S, S)``.
    """

    cls: torch.Tensor
    loc: Optional[torch.Tensor] = None
    conf: Optional[torch.Tensor] = None


class SiameseModel(nn.Module):
    """Base class: subclasses set :attr:`geometry` and implement the three inference methods."""

    geometry: OutputGeometry

    def template(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fuse(self, f_a: torch.Tensor, f_c: torch.Tensor, f_i: torch.Tensor) -> torch.Tensor:
        """The template to track with: the ST module's fusion (eq. 1-4) when the model has one (a submodule
        ``st``), else the first frame's ``f_i``."""
        st = getattr(self, "st", None)
        return f_i if st is None else st(f_a, f_c, f_i)

    def track(self, x: torch.Tensor, f_z: torch.Tensor) -> HeadOutput:
        raise NotImplementedError

    @property
    def has_st(self) -> bool:
        return getattr(self, "st", None) is not None

    def forward(
        self,
        z_i: torch.Tensor,
        x: torch.Tensor,
        z_a: torch.Tensor | None = None,
        z_c: torch.Tensor | None = None,
    ) -> HeadOutput:
        f_i = self.template(z_i)
        f_z = f_i
        if self.has_st and z_a is not None and z_c is not None:
            f_z = self.fuse(self.template(z_a), self.template(z_c), f_i)
        return self.track(x, f_z)
