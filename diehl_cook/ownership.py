"""What this project owns on disk, and who is using it.

Two kinds of folders are made by this project: network folders (``weights/n400``...)
and compiled-program folders (in the build cache). Each carries a marker file, so
that nothing else is ever moved, renamed or deleted:

- ``.diehl_cook-network`` in a network folder (written with its first file);
- ``.diehl_cook-program`` in a compiled-program folder.

A folder is the project's only if it carries its marker: never because of its name
or because it holds files named like a network's (a user's ``metadata.json`` or a
``checkpoint.npz`` of another program). A network folder of a version older than the
markers is still read, labelled and tested (its files are checked on loading); to
train into it again, or resume it, add the marker (``touch FOLDER/.diehl_cook-network``).

A command that writes a network folder (train, label, evaluate) claims it for its
whole run (``claim``: an exclusive lock on ``.diehl_cook.lock`` inside it); a second
writer is refused at once with the first one's process id and command. Saving and
loading a network take a short lock of their own (``saving``, ``reading``), so a
reader never sees the arrays of one save with the metadata of another.
"""
import fcntl
import os
import sys
from contextlib import contextmanager, nullcontext

from .errors import StorageError

NETWORK_MARKER = ".diehl_cook-network"
PROGRAM_MARKER = ".diehl_cook-program"
CLAIM_LOCK = ".diehl_cook.lock"
SAVE_LOCK = ".diehl_cook.save.lock"
NETWORK_FILES = ("weights.npy", "theta.npy", "assignments.npy", "metadata.json",
                 "checkpoint.npz", "training_log", "partial", NETWORK_MARKER, CLAIM_LOCK,
                 SAVE_LOCK)


MARKER_TEXT = {NETWORK_MARKER: "a network folder", PROGRAM_MARKER: "a compiled-program folder"}


def mark(folder, marker):
    """Create ``folder`` if needed and put ``marker`` in it."""
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, marker)
    if not os.path.exists(path):
        with open(path, "w") as file:
            file.write(f"made by diehl_cook: {MARKER_TEXT[marker]}; diehl_cook may replace "
                       f"or delete this folder\n")


def is_network_folder(folder):
    """Whether ``folder`` carries the network marker (see the module's docstring)."""
    return os.path.isfile(os.path.join(folder, NETWORK_MARKER))


def is_program_folder(folder):
    return os.path.isfile(os.path.join(folder, PROGRAM_MARKER))


def network_file(path):
    """Whether ``path`` is one of a network folder's own files (or inside one of
    its sub-folders): no output may be written there."""
    path = os.path.abspath(path)
    while True:
        folder, name = os.path.split(path)
        if name in NETWORK_FILES and is_network_folder(folder):
            return True
        if folder == path:
            return False
        path = folder


def check_new_network_folder(folder, resume=False):
    """A folder that a training may write: missing, empty, or a network folder; for a
    new training (not ``resume``), not the current folder nor one that holds it (it
    could not be set aside)."""
    real, here = os.path.realpath(folder), os.path.realpath(os.getcwd())
    if not resume and os.path.commonpath([real, here]) == real:
        raise StorageError(f"--out {folder} is the current folder or holds it: a training "
                           f"writes into a folder of its own; choose one (e.g. runs/mine)")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise StorageError(f"--out {folder} is a file, not a folder: choose a folder name")
    if os.path.isdir(folder) and os.listdir(folder) and not is_network_folder(folder):
        raise StorageError(f"--out {folder} is a folder that holds other files and carries "
                           f"no mark of this project ({NETWORK_MARKER}): nothing in it was "
                           f"touched. Choose a new or empty folder (e.g. runs/mine); a "
                           f"network folder of an older version is marked with: touch "
                           f"{os.path.join(folder, NETWORK_MARKER)}")


class Claim:
    """An exclusive, non-blocking lock on a folder for one command's whole run."""

    def __init__(self, folder, what):
        self.folder = folder
        self.file = open(os.path.join(folder, CLAIM_LOCK), "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            self.file.close()
            raise StorageError(f"{folder} is in use by another command ({holder}): {what} "
                               f"cannot start now. Wait for it to end, or use another "
                               f"folder") from None
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"pid {os.getpid()}: {' '.join(sys.argv)}")
        self.file.flush()

    def release(self):
        if not self.file.closed:
            self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.release()


@contextmanager
def claim_if_writable(folder, what):
    """Hold ``Claim(folder, what)`` for the ``with`` block; a folder that cannot be
    written is not claimed (a read-only network is only read, so nobody else can be
    writing it either)."""
    try:
        held = Claim(folder, what)
    except PermissionError:
        held = None
    except OSError as error:
        if error.errno != 30:       # not a read-only file system
            raise
        held = None
    try:
        yield
    finally:
        if held is not None:
            held.release()


@contextmanager
def _locked(folder, kind):
    path = os.path.join(folder, SAVE_LOCK)
    try:
        file = open(path, "a+")
    except OSError:     # a read-only folder: nobody saves into it
        yield
        return
    with file:
        fcntl.flock(file, kind)
        yield


def saving(folder):
    """Held while a network's files are written (others neither save nor read)."""
    os.makedirs(folder, exist_ok=True)
    return _locked(folder, fcntl.LOCK_EX)


def reading(folder):
    """Held while a network's files are read (no save in between). A folder without
    the marker is read without a lock: no file is made in a folder the project did
    not make, and no command of the project saves into one without marking it."""
    if not is_network_folder(folder):
        return nullcontext()
    return _locked(folder, fcntl.LOCK_SH)
