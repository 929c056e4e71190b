"""dastsiam: Siamese single-object tracking with spatio-temporal fusion (ST) and discriminative augmentation (DA).

Box convention everywhere: ``x, y, w, h`` float, 0-based pixels (see :mod:`dastsiam.boxes`).
"""

__version__ = "0.1.0"
