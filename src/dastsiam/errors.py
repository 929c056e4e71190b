"""Errors that the command line turns into one clear line (no traceback)."""


class DastsiamError(Exception):
    """Base class for user-facing errors: bad input files, boxes, configs, model names."""


class InputError(DastsiamError, ValueError):
    """A video, frame, box, annotation or results file is missing, unreadable or malformed."""


class ModelError(DastsiamError, ValueError):
    """Unknown model name or a weights file that cannot be loaded."""


class OutputError(DastsiamError, OSError):
    """An output folder or file cannot be created or written (exists as the wrong kind, no permission, disk full)."""


class DastsiamWarning(UserWarning):
    """Something the user should know that does not stop the work (a truncated frame, an untrained model).

    The command line prints these as one ``dastsiam: warning: ...`` line."""
