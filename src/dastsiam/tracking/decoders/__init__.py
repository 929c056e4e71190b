"""Decoders: how each reference tracker turns the head's maps into the next box, one file each.

The :class:`~dastsiam.tracking.Tracker` picks its decoder once, when it is built, from the model's
:class:`~dastsiam.models.OutputGeometry` (:func:`decoder_for`): ``geometry.decoder`` names it; when it is
``None`` the head decides: ``"anchors"`` when the geometry has anchor shapes, else ``"ltrb"``.

=================  ============================  ==============================================================
name               file                          reference
=================  ============================  ==============================================================
``ltrb``           :mod:`.ltrb`                  NanoTrack / OpenCV ``tracker_nano.cpp`` (per-cell l, t, r, b)
``anchors``        :mod:`.anchors`               SiamRPN(++) / pysot ``siamrpn_tracker.py`` (anchor offsets)
``scale_pyramid``  :mod:`.scale_pyramid`         SiamFC (Bertinetto et al. 2016), 3-scale search
=================  ============================  ==============================================================

FEAR-XS's tracker (:mod:`dastsiam.tracking.fear`) is not one of these: it keeps a box instead of a centre and
cuts its own non-square crops, so it is chosen by ``TrackerConfig.decoder = "fear"`` and run by the tracker beside
them (bringing it here needs crop hooks on :class:`Decoder`).

The two box-branch decoders share SiamRPN's cell selection (:mod:`.box_branch`). Adding a decoder: a new file
here with a :class:`Decoder` subclass (its docstring citing the paper or reference code), one entry in
:data:`DECODERS`, and ``decoder="<name>"`` in the model's ``OutputGeometry``.
"""

from __future__ import annotations

from dastsiam.errors import ModelError
from dastsiam.models.geometry import OutputGeometry
from dastsiam.tracking.decoders.anchors import AnchorDecoder
from dastsiam.tracking.decoders.base import Decoder, HeadMaps, SearchRegion, Step
from dastsiam.tracking.decoders.ltrb import LtrbDecoder
from dastsiam.tracking.decoders.scale_pyramid import ScalePyramidDecoder

__all__ = ["DECODERS", "decoder_name", "decoder_for", "Decoder", "HeadMaps", "SearchRegion", "Step"]

DECODERS: dict[str, type[Decoder]] = {
    LtrbDecoder.name: LtrbDecoder,
    AnchorDecoder.name: AnchorDecoder,
    ScalePyramidDecoder.name: ScalePyramidDecoder,
}


def decoder_name(geometry: OutputGeometry) -> str:
    """``geometry.decoder``, or the one its head implies (``anchors`` with anchor shapes, else ``ltrb``)."""
    if geometry.decoder is not None:
        return geometry.decoder
    return AnchorDecoder.name if geometry.num_anchors else LtrbDecoder.name


def decoder_for(geometry: OutputGeometry) -> Decoder:
    """A fresh decoder for a model with this geometry (:class:`ModelError` for an unknown name)."""
    name = decoder_name(geometry)
    if name not in DECODERS:
        raise ModelError(f"the model's geometry asks for decoder {name!r}; known decoders: {', '.join(DECODERS)}")
    return DECODERS[name](geometry)
