"""The cache of compiled programs: where they are kept, which process holds which
folder (a lock per folder, so concurrent runs never build or run in the same one),
listing and removing them, and the compiler they need."""
import fcntl
import itertools
import os
import shutil
import sys
import time
from contextlib import contextmanager

from tqdm import tqdm

from . import ownership
from .errors import SettingsError, StorageError


def default_build_dir():
    """Where compiled programs are kept: $DIEHL_COOK_BUILD_DIR or ~/.cache/diehl_cook."""
    return os.environ.get("DIEHL_COOK_BUILD_DIR",
                          os.path.join(os.path.expanduser("~"), ".cache", "diehl_cook"))


_CLAIMED = {}   # build directories this process holds: directory -> [lock file, engines using it]


def claim_build_dir(directory):
    """``directory``, or ``directory-2``, ``-3``... : the first that no other process
    is using. Its lock (``<directory>.lock``, exclusive) is held until every engine
    of this process that claimed it is closed (``release_build_dir``), so concurrent
    runs of the same program never compile or run in one folder; the engines of one
    process share it (they run one at a time)."""
    root = os.path.dirname(os.path.abspath(directory))
    if os.path.exists(root) and not os.path.isdir(root):
        raise StorageError(f"the build folder {root} is a file, not a folder: give another "
                           f"--build-dir (or $DIEHL_COOK_BUILD_DIR)")
    try:
        return _claim(directory, root)
    except OSError as error:
        raise StorageError(f"cannot use the build folder {root} ({error}): give another "
                           f"--build-dir (or $DIEHL_COOK_BUILD_DIR)") from None


def _claim(directory, root):
    os.makedirs(root, exist_ok=True)
    for k in itertools.count(1):
        candidate = directory if k == 1 else f"{directory}-{k}"
        if candidate in _CLAIMED:
            _CLAIMED[candidate][1] += 1
            return candidate
        if os.path.exists(candidate) and not ownership.is_program_folder(candidate):
            continue                # not ours (or not a folder): never written into
        lock = open(candidate + ".lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        ownership.mark(candidate, ownership.PROGRAM_MARKER)
        _CLAIMED[candidate] = [lock, 1]
        return candidate


def release_build_dir(directory):
    """Undo one ``claim_build_dir(directory)``; the last one frees the folder for
    other processes (later runs of the same program reuse it without compiling)."""
    claim = _CLAIMED.get(directory)
    if claim is None:
        return
    claim[1] -= 1
    if claim[1] == 0:
        del _CLAIMED[directory]
        claim[0].close()


def cached_programs(build_dir=None):
    """The compiled programs in the cache: a list of (folder, size in bytes). Only
    the folders this project made (``ownership.PROGRAM_MARKER``) are listed."""
    root = build_dir or default_build_dir()
    if not os.path.isdir(root):
        return []
    found = []
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if _program_folder(folder):
            size = sum(os.lstat(os.path.join(where, f)).st_size
                       for where, _, files in os.walk(folder) for f in files)
            found.append((folder, size))
    return found


def _program_folder(folder):
    """A folder this project compiled a program in: marked, and a real folder (the
    project never makes links, so a link to a program folder is someone else's)."""
    return (os.path.isdir(folder) and not os.path.islink(folder)
            and ownership.is_program_folder(folder))


def remove_program(folder):
    """Delete one cached program unless a running process holds its lock (or it is
    not a program folder). Returns whether it was deleted."""
    if not _program_folder(folder):
        return False
    with open(folder + ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(folder)
        os.unlink(folder + ".lock")
    return True


def check_compiler():
    """Raise an error a user can act on if there is no C++ compiler for ``make``."""
    compiler = os.environ.get("CXX", "g++").split()[0]
    if shutil.which(compiler) is None or shutil.which("make") is None:
        missing = "make" if shutil.which(compiler) else f"the C++ compiler {compiler}"
        raise SettingsError(f"{missing} was not found on PATH: the engine compiles the network "
                            f"into a C++ program. Install a compiler and make (Debian/Ubuntu: "
                            f"sudo apt install g++ make; macOS: xcode-select --install), or "
                            f"set $CXX to yours")


# How long compiling a program takes, said before a first compilation: the last one
# measured on this machine (kept in the cache as COMPILE_TIME_FILE), else this
# project's measurement (the two 400-neuron test programs of a 2-job evaluation,
# compiled at once on one core of an Intel Xeon: 38 s, 2026-12-05).
COMPILE_SECONDS = 40
COMPILE_TIME_FILE = "last_compile_seconds.txt"


COMPILER_OUTPUT = "compiler_output.txt"


@contextmanager
def compiler_output_kept(directory):
    """Inside the block, the standard output and error of this process and of the
    programs it starts (make, the compiler) go into ``directory``/compiler_output.txt,
    in the program's own folder, instead of the files Brian would make in the system's
    temporary folder (left there when a run is killed). A failed compilation is one
    line that names the file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    try:
        with open(os.path.join(directory, COMPILER_OUTPUT), "w") as output:
            os.dup2(output.fileno(), 1)
            os.dup2(output.fileno(), 2)
            try:
                yield
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
    except OSError as error:
        raise StorageError(f"cannot write into the build folder {directory} ({error}): "
                           f"free some space, or give another --build-dir (or "
                           f"$DIEHL_COOK_BUILD_DIR)") from None
    finally:
        os.close(saved[0])
        os.close(saved[1])


def compilation_failed(directory):
    """The error for a compilation of the program in ``directory`` that failed."""
    return StorageError(f"compiling the simulation program failed: the compiler's messages "
                        f"are in {os.path.join(directory, COMPILER_OUTPUT)} (a full disk? "
                        f"a broken compiler? `diehl-cook cache --clear` removes the "
                        f"compiled programs)")


@contextmanager
def announced_compilation(directory):
    """Around the build of the program in ``directory``: if it was never compiled,
    say that it is being compiled and about how long that takes, then record how
    long it took. (A program compiled before is rebuilt in about a second.)"""
    if os.path.exists(os.path.join(directory, "main")):
        yield
        return
    record = os.path.join(os.path.dirname(os.path.abspath(directory)), COMPILE_TIME_FILE)
    try:
        with open(record) as file:
            expected = round(float(file.read()))
    except (OSError, ValueError):
        expected = COMPILE_SECONDS
    tqdm.write(f"compiling the simulation program (first run only, about {expected} s)",
               file=sys.stderr)
    start = time.monotonic()
    yield
    try:
        with open(record, "w") as file:
            file.write(f"{time.monotonic() - start:.0f}\n")
    except OSError:
        pass        # only a hint for the next time
