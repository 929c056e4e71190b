"""``dastsiam`` command line: one sub-command per module in this package.

Each sub-command module defines ``add_parser(subparsers)`` (which sets ``func``) and raises
:class:`dastsiam.errors.DastsiamError` (or :class:`dastsiam.config.ConfigError`) for bad input; this entry
point turns those into a single ``dastsiam: error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import re
import signal
import sys
import threading
import warnings

from dastsiam import __version__
from dastsiam.config import ConfigError
from dastsiam.errors import DastsiamError, DastsiamWarning
from dastsiam.runtime import prepare_environment

# sub-command name -> module in dastsiam.cli (imported lazily so `dastsiam --help` stays fast)
SUBCOMMANDS = {
    "track": "track",
    "models": "models",
    "export": "export",
    "run": "run",
    "eval": "evaluate",
    "train": "train",
    "app": "app",
    "vot": "vot",
}


_REST_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):`~?([^`]+)`")


def plain_text(text: str | None) -> str | None:
    """Help text without reST markup: ``:class:`~a.b.C``` -> ``C``, double back-quotes -> nothing, ``::`` -> ``:``
    (the sub-command modules' docstrings are written for the API docs and double as ``--help`` pages)."""
    if not text:
        return text
    text = _REST_ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("``", "").replace("::\n", ":\n")


def _plain_help(parser: argparse.ArgumentParser) -> None:
    parser.description = plain_text(parser.description)
    parser.epilog = plain_text(parser.epilog)
    for action in parser._actions:
        if isinstance(action.help, str):
            action.help = plain_text(action.help)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (``only`` = a sub-command name) one with just that sub-command: each sub-command
    module imports what it needs, and `dastsiam track` must not pay for importing the evaluation toolkit."""
    parser = argparse.ArgumentParser(prog="dastsiam", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"dastsiam {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = [SUBCOMMANDS[only]] if only in SUBCOMMANDS else SUBCOMMANDS.values()
    for module_name in names:
        try:
            module = importlib.import_module(f"dastsiam.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"dastsiam.cli.{module_name}":
                continue  # sub-command not built yet
            raise
        module.add_parser(subparsers)
    for sub in subparsers.choices.values():
        _plain_help(sub)
    for choice in subparsers._choices_actions:  # the one-line summaries of `dastsiam --help`
        choice.help = plain_text(choice.help)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that it winds up as on Ctrl-C (files finished, checkpoints saved)."""


@contextlib.contextmanager
def _cli_signals_and_warnings():
    """SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``), so every sub-command's Ctrl-C clean-up
    (closing the video, saving the checkpoint) also runs when a job scheduler or ``kill`` stops it; library
    warnings (:class:`DastsiamWarning`) print as one ``dastsiam: warning: ...`` line. Both are restored on exit
    (``main`` is also called in-process by tests)."""

    def on_term(signum, frame):
        raise Terminated()

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, DastsiamWarning):
            print(f"dastsiam: warning: {message}", file=sys.stderr)
        else:
            previous_show(message, category, filename, lineno, file, line)

    previous_show = warnings.showwarning
    previous_term = None
    if threading.current_thread() is threading.main_thread():
        previous_term = signal.signal(signal.SIGTERM, on_term)
    warnings.showwarning = show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", DastsiamWarning)  # each truncated frame is its own warning
            yield
    finally:
        warnings.showwarning = previous_show
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def _missing_dependency(exc: ModuleNotFoundError) -> int:
    """One line naming the extra that installs a missing optional dependency (re-raised if it is not one)."""
    from dastsiam._deps import missing_dependency

    message = missing_dependency(exc)
    if message is None:
        raise exc
    print(f"dastsiam: error: {message}", file=sys.stderr)
    return 2


def _run(argv: list[str] | None) -> int:
    prepare_environment()  # passive OpenMP waiting must be set before any sub-command imports torch
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser(only=argv[0] if argv else None)
    except ModuleNotFoundError as exc:  # a sub-command module needs an optional dependency that is missing
        return _missing_dependency(exc)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    with _cli_signals_and_warnings():
        try:
            return int(args.func(args) or 0)
        except (DastsiamError, ConfigError) as exc:
            print(f"dastsiam: error: {exc}", file=sys.stderr)
            return 2
        except ModuleNotFoundError as exc:
            return _missing_dependency(exc)
        except ImportError as exc:  # _deps.MissingDependency: its message already names the extra
            from dastsiam._deps import MissingDependency

            if not isinstance(exc, MissingDependency):
                raise
            print(f"dastsiam: error: {exc}", file=sys.stderr)
            return 2
        except Terminated:
            print("dastsiam: terminated (SIGTERM); results written so far are kept", file=sys.stderr)
            return 128 + signal.SIGTERM
        except KeyboardInterrupt:
            print("dastsiam: interrupted; results written so far are kept", file=sys.stderr)
            return 130


class StdoutError(Exception):
    """Standard output cannot be written: its reader went away (``| head``) or its disk is full (``> /dev/full``).

    Not an ``OSError``, so no handler meant for an output *file* mistakes it for one."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class _GuardedStdout:
    """``sys.stdout`` whose write errors are raised as :class:`StdoutError` (everything else is the stream's)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as exc:
            raise StdoutError(exc) from None

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as exc:
            raise StdoutError(exc) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _stdout_failed(error: OSError) -> int:
    """What well-behaved command-line tools do when stdout fails: a closed pipe (``dastsiam eval | head -1``)
    ends quietly with 141 (128 + SIGPIPE, what the shell reports for ``yes | head``); any other error (a full
    disk) is one ``dastsiam: error:`` line. Files already written are complete either way. Standard output is
    then pointed at /dev/null so that the interpreter's last flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, sys.stdout.fileno())
        finally:
            os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a stdout without a file descriptor (tests capturing it)
        pass
    if error.errno == errno.EPIPE:
        return 128 + signal.SIGPIPE
    print(f"dastsiam: error: cannot write to standard output ({error.strerror or error})", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    stdout = sys.stdout
    sys.stdout = _GuardedStdout(stdout)
    try:
        try:
            code = _run(argv)
        except SystemExit:  # argparse's --help / usage errors: their text must reach stdout too
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # here, not at interpreter exit, where an error could only be a traceback
        return code
    except StdoutError as exc:
        return _stdout_failed(exc.error)
    finally:
        sys.stdout = stdout


if __name__ == "__main__":
    sys.exit(main())
