"""``dastsiam app``: a local web page to pick the box by hand, track, watch the result and download it.

See :mod:`dastsiam.app.server` and docs/usage.md.
"""

from dastsiam.app.server import AppServer, Limits, serve

__all__ = ["AppServer", "Limits", "serve"]
