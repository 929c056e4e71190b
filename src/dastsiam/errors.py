"""Errors that the command line turns into one clear line (no traceback)."""


class DastsiamError(Exception):
    """Base class for user-facing errors: bad input files, boxes, configs, model names."""


class InputError(DastsiamError, ValueError):
    """A video, frame, box, annotation or results file is missing, unreadable or malformed."""


class ModelError(DastsiamError, ValueError):
    """Unknown model name or a weights file that cannot be loaded."""
