"""The command line's one log handler: the library only logs, and the `reljudge` command decides what is shown.

reljudge's own loggers speak at INFO (training epochs and valid figures, a base model converted once); other
libraries only from WARNING. `--verbose` adds reljudge's DEBUG lines, `--quiet` keeps warnings and errors alone.
"""

from __future__ import annotations

import logging
import sys

from reljudge import __version__

PACKAGE = "reljudge"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger(__name__)


def verbosity_level(verbose: bool, quiet: bool) -> int:
    """The level of reljudge's loggers for the global flags (both at once is a contradiction the caller refuses)."""
    if verbose:
        return logging.DEBUG
    return logging.WARNING if quiet else logging.INFO


def install(level: int) -> logging.Handler:
    """Put one handler on the root logger (rich's on a terminal, plain lines otherwise) and set the levels.

    Returns the handler so that `uninstall` can take it off again: a process that runs several commands (tests,
    a notebook) never stacks handlers or keeps an earlier command's levels.
    """
    handler = _handler()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger(PACKAGE).setLevel(level)
    log.debug("reljudge %s on Python %s; log level %s", __version__, sys.version.split()[0],
              logging.getLevelName(level))
    return handler


def uninstall(handler: logging.Handler) -> None:
    """Take the handler off and give reljudge's logger back its unset level."""
    logging.getLogger().removeHandler(handler)
    logging.getLogger(PACKAGE).setLevel(logging.NOTSET)
    handler.close()


def _handler() -> logging.Handler:
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.logging import RichHandler

        return RichHandler(console=Console(stderr=True), show_path=False, markup=False, rich_tracebacks=False,
                           log_time_format="[%X]")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(PLAIN_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    return handler
