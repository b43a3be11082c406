"""The errors a user can fix.

The command line shows these as one message and exits with code 2; any other
exception is a bug (or an unexpected condition) and keeps its traceback.
"""


class DiehlCookError(Exception):
    """Something the user can fix: a setting, a file, the data."""


class SettingsError(DiehlCookError, ValueError):
    """A setting (a command-line flag) with a value that cannot work."""


class MnistError(DiehlCookError):
    """MNIST files missing, unreadable or corrupt."""


class StorageError(DiehlCookError):
    """A network folder that is missing, incomplete, corrupt or of the wrong size."""


class SilentNetworkError(DiehlCookError):
    """The network does not respond: an image evoked fewer than MIN_SPIKES spikes in
    MAX_PRESENTATIONS presentations, or no neuron fired while labelling."""


class ImageError(DiehlCookError, ValueError):
    """An image to classify that cannot be read or has no digit in it."""


class DivergedError(DiehlCookError):
    """Training made weights or theta NaN, infinite or negative (the checkpoint
    before it is kept)."""


class WorkerDiedError(DiehlCookError):
    """A worker process of a parallel phase ended without its result (killed, or out
    of memory); the chunks it finished are kept."""


class ProgramDiedError(DiehlCookError):
    """The compiled simulation program ended without finishing its run (killed from
    outside, or it crashed); the chunks finished before are kept."""
