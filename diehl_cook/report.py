"""What the package says while it works: a resumed training, kept chunks, a note
that a constant changed since a network was trained.

Library code says it here, never with ``print()``: through the ``diehl_cook``
logger, which the command line shows on standard output (``show_messages``). A
program that uses the package as a library chooses what it shows with the
``logging`` module. Notes that change how a result reads are warnings, which
Python shows on standard error even when logging was never configured.
"""
import logging
import sys

LOGGER = logging.getLogger("diehl_cook")


def say(message):
    """Tell the user what a run is doing."""
    LOGGER.info(message)


def note(message):
    """Tell the user something that changes how a result reads."""
    LOGGER.warning(message)


class _StandardOutput(logging.Handler):
    """Each message as it is, on the standard output of the moment: the command
    line's ``--json -`` and pytest's capture replace ``sys.stdout`` after this
    handler is made."""

    def emit(self, record):
        print(self.format(record), file=sys.stdout, flush=True)


def show_messages():
    """Show the package's messages on standard output (the command line). Calling it
    again adds nothing."""
    if not any(isinstance(handler, _StandardOutput) for handler in LOGGER.handlers):
        LOGGER.addHandler(_StandardOutput())
    LOGGER.setLevel(logging.INFO)
