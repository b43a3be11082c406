"""A trained network is a folder:

- ``weights.npy``     input -> excitatory weights, (784, N_e) float64
- ``theta.npy``       adaptive thresholds, (N_e,) float64, in volts
- ``assignments.npy`` class of each excitatory neuron (-1: unassigned), once labelled
- ``metadata.json``   N_e, seed, rule, per-size values (``theta_plus`` in volts,
  ``w_inh_exc``), images seen, parameters, versions, SHA-256 of the arrays
- ``checkpoint.npz``  while training: the state after the last finished chunk
- ``training_log/``   while training: each neuron's response to every training image
  (one compressed file per chunk)
- ``partial/``        while labelling or testing: the finished chunks, so that an
  interrupted run continues where it stopped; removed when the phase completes

Every file is written to a temporary name and then renamed, so an interrupted
run never leaves a half-written file. The input delays are not stored: they are
drawn from the network's seed (``diehl_cook.network.initial_state``). A folder
without a recorded learning rule was trained with the triplet rule (the only one
before version 0.2); one without per-size values, with the released code's
(``LEGACY_VALUES``: the only ones before version 0.3).
"""
import errno
import glob
import hashlib
import json
import os
import re
import platform
import shutil
import signal
import tempfile
import threading
import zipfile
from contextlib import contextmanager

import numpy as np

from . import ownership, paths
from . import parameters as p
from .errors import StorageError
from .network import TrainedNetwork

ARRAYS = ("weights", "theta", "assignments")
LEGACY_VALUES = dict(theta_plus=0.05e-3, w_inh_exc=17.0)   # volts; the released code's


def _rule(record):
    """The learning rule of a metadata or checkpoint record (none recorded: the
    triplet rule, of the networks of version 0.1); ValueError for an unknown one."""
    rule = record.get("rule", "triplet")
    if rule not in p.LEARNING_RULES:
        raise ValueError(f"rule is {rule!r}, not one of {', '.join(p.LEARNING_RULES)}")
    return rule


def _size_values(record):
    """theta_plus and w_inh_exc from a metadata or checkpoint record; ValueError if
    one is not a finite number of at least 0."""
    values = {name: float(record.get(name, default)) for name, default in LEGACY_VALUES.items()}
    for name, value in values.items():
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} is {record.get(name)!r}, not a number of at least 0")
    return values


def _atomic_write(path, write):
    """Write a file whole or not at all: to a temporary name, then renamed. The
    signals that stop a command wait until the write is done (a signal inside it
    would leave the cleanup half done), then stop it as usual."""
    directory = os.path.dirname(os.path.abspath(path))
    with signals_deferred():
        os.makedirs(directory, exist_ok=True)
        _remove_orphans(directory)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix())
        try:
            with os.fdopen(handle, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temporary, 0o666 & ~_umask())    # mkstemp makes it 0600
            os.replace(temporary, path)
        except BaseException as error:
            os.unlink(temporary)
            if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                raise StorageError(f"the disk is full: {path} could not be written (nothing "
                                   f"was half-written; free space in {directory} and run "
                                   f"again)") from None
            raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextmanager
def signals_deferred():
    """Inside the block, SIGINT, SIGTERM and SIGHUP are only noted; the first one is
    raised again when the block ends (and stops the command then). Done with Python
    handlers, not a signal mask: a mask holds for one thread, and the kernel may hand
    the signal to another one (tqdm's monitor thread, say)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = {number: signal.signal(number, lambda signum, frame: caught.append(signum))
                for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])


# The temporary file of a write: the project's name, the writer's process id and
# mkstemp's random part. Only files named so are ever cleaned up by another process.
TEMPORARY = re.compile(r"\.diehl_cook-tmp-(\d+)-[a-z0-9_]{8}")


def _temporary_prefix():
    return f".diehl_cook-tmp-{os.getpid()}-"


def _remove_orphans(directory):
    """Delete the temporary files of writes whose process is gone (killed while
    writing): the project's own temporary names (``TEMPORARY``), whose writer's
    process id no longer runs. Nothing else in the folder is touched."""
    for name in os.listdir(directory):
        found = TEMPORARY.fullmatch(name)
        if found and not _alive(int(found.group(1))):
            try:
                os.unlink(os.path.join(directory, name))
            except FileNotFoundError:
                pass


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_output(path, folder=False):
    """``check_writable``, for an output the user named: it may not be one of a
    network folder's own files."""
    if ownership.network_file(path):
        raise StorageError(f"cannot write {path}: it is one of the files of the network "
                           f"folder {os.path.dirname(os.path.abspath(path))}; choose another name")
    check_writable(path, folder)


def check_writable(path, folder=False):
    """Raise StorageError now, before any work, if ``path`` (a file to write, or
    with ``folder`` a folder to write into) cannot be written or is of the other kind.
    Nothing is created: the folders of the path that do not exist yet are made when
    the output is written."""
    if not folder and (os.path.isdir(path) or path.endswith(os.sep)):
        raise StorageError(f"cannot write {path}: it is a folder; give a file name")
    if folder and os.path.exists(path) and not os.path.isdir(path):
        raise StorageError(f"cannot write into {path}: it is a file, not a folder")
    target = os.path.abspath(path) if folder else os.path.dirname(os.path.abspath(path))
    existing = target
    while not os.path.lexists(existing):       # the nearest part of the path that exists
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise StorageError(f"cannot write {path}: {existing} is a file where a folder of its "
                           f"path should be")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise StorageError(f"cannot write {path}: {error.strerror or error} ({existing})") from None


def save_array(path, array):
    _atomic_write(path, lambda f: np.save(f, array, allow_pickle=False))


def write_file(path, data):
    """Write ``data`` (bytes) to ``path`` whole or not at all."""
    _atomic_write(path, lambda f: f.write(data))


def save_json(path, data):
    _atomic_write(path, lambda f: f.write(json.dumps(data, indent=2, sort_keys=True).encode()))


def digest(*arrays):
    """One SHA-256 of several arrays (e.g. training images and labels)."""
    hashed = hashlib.sha256()
    for array in arrays:
        hashed.update(np.ascontiguousarray(array).tobytes())
    return hashed.hexdigest()


def versions():
    import brian2
    return dict(python=platform.python_version(), brian2=brian2.__version__,
                numpy=np.__version__)


def model_parameters():
    """The parameter values that matter, as plain numbers, for the metadata."""
    values = {}
    for name in dir(p):
        value = getattr(p, name)
        if name.isupper() and not isinstance(value, type):
            values[name] = str(value)
    return values


def save_network(folder, network):
    """Write the arrays, then the metadata (which records their checksums)."""
    metadata = dict(network.metadata, n_e=network.n_e, seed=network.seed, rule=network.rule,
                    theta_plus=network.theta_plus, w_inh_exc=network.w_inh_exc,
                    versions=versions(), sha256={},
                    # the parameters it was trained with (labelling keeps them)
                    parameters=network.metadata.get("parameters") or model_parameters())
    with ownership.saving(folder):
        ownership.mark(folder, ownership.NETWORK_MARKER)
        for name in ARRAYS:
            array = getattr(network, name)
            if array is not None:
                save_array(os.path.join(folder, f"{name}.npy"), array)
                metadata["sha256"][name] = digest(array)
        save_json(os.path.join(folder, "metadata.json"), metadata)


def _load_array(folder, name, shape, checksum):
    path = os.path.join(folder, f"{name}.npy")
    if checksum is None:
        raise StorageError(f"{path} is not listed in {folder}/metadata.json: it does not "
                           f"belong to this network (left from another training?)")
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise StorageError(f"{path} is missing") from None
    except (ValueError, OSError, EOFError) as error:
        raise StorageError(f"{path} is corrupt: {error}") from error
    if array.shape != shape:
        raise StorageError(f"{path} has shape {array.shape}; this network (N_e = {shape[-1]}) "
                           f"needs {shape}")
    if digest(array) != checksum:
        raise StorageError(f"{path} does not match the checksum in metadata.json "
                           f"(modified or corrupt)")
    problem = invalid_values(name, array)
    if problem:
        raise StorageError(f"{path} {problem}")
    return array


def invalid_values(name, array):
    """What is wrong with the values of a network's array, or None: weights finite
    and >= 0, theta finite, assignments integers from -1 to 9."""
    if name == "assignments":
        if not np.issubdtype(array.dtype, np.integer):
            return f"holds {array.dtype} values; assignments are integers"
        if array.size and (array.min() < -1 or array.max() >= p.N_CLASSES):
            return f"holds classes outside -1..{p.N_CLASSES - 1}"
        return None
    if not np.all(np.isfinite(array)):
        return "holds NaN or infinite values (a diverged training?)"
    if name == "weights" and array.size and array.min() < 0:
        return "holds negative weights"
    return None


def load_network(folder, need_assignments=False):
    """Load a network folder, checking that its arrays are the ones its metadata
    lists (shape, SHA-256) and hold valid values."""
    require_network_folder(folder)
    with ownership.reading(folder):
        return _load_network(folder, need_assignments)


def require_network_folder(folder):
    if not os.path.isdir(folder):
        raise StorageError(f"no network folder '{folder}' (train one with "
                           f"{paths.how_to_run('train')} --out {folder})")


def _load_network(folder, need_assignments):
    path = os.path.join(folder, "metadata.json")
    try:
        with open(path) as f:
            metadata = json.load(f)
        n_e = int(metadata["n_e"])
        seed, values, rule = int(metadata.get("seed", 0)), _size_values(metadata), _rule(metadata)
        digests = dict(metadata.get("sha256") or {})
    except FileNotFoundError:
        raise StorageError(f"{path} is missing: '{folder}' is not a trained network "
                           f"(or its training never finished a chunk)") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StorageError(f"{path} is corrupt: {error}") from error
    weights = _load_array(folder, "weights", (p.N_INPUT, n_e), digests.get("weights"))
    theta = _load_array(folder, "theta", (n_e,), digests.get("theta"))
    assignments = None
    if need_assignments and "assignments" not in digests:
        raise StorageError(f"'{folder}' has no assignments (none listed in metadata.json): "
                           f"label its neurons first with: {paths.how_to_run('label')} "
                           f"--weights {folder}")
    if "assignments" in digests:
        assignments = _load_array(folder, "assignments", (n_e,), digests["assignments"])
    return TrainedNetwork(weights, theta, seed, rule, assignments,
                          metadata, **values)


def save_checkpoint(folder, network, progress):
    """The training state after a chunk; ``progress`` is a dict of plain numbers
    (the network's per-size values and parameters.py's values are added to it)."""
    path = os.path.join(folder, "checkpoint.npz")
    progress = dict(progress, theta_plus=network.theta_plus, w_inh_exc=network.w_inh_exc,
                    parameters=model_parameters())
    _atomic_write(path, lambda f: np.savez(f, weights=network.weights, theta=network.theta,
                                           progress=json.dumps(progress)))


def load_checkpoint(folder):
    """(network, progress) or None when there is no checkpoint."""
    path = os.path.join(folder, "checkpoint.npz")
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            weights, theta = data["weights"], data["theta"]
            progress = json.loads(str(data["progress"]))
        seed, n_e = int(progress["seed"]), int(progress.get("n_e", theta.size))
        int(progress["done"])
        if weights.shape != (p.N_INPUT, n_e) or theta.shape != (n_e,):
            raise ValueError(f"arrays of shapes {weights.shape} and {theta.shape} for "
                             f"N_e = {n_e}")
        for name, array in (("weights", weights), ("theta", theta)):
            problem = invalid_values(name, array)
            if problem:
                raise ValueError(f"its {name} {problem}")
        network = TrainedNetwork(weights, theta, seed, _rule(progress),
                                 **_size_values(progress))
    except (ValueError, OSError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
        raise StorageError(f"{path} is corrupt ({error}): it cannot be resumed. Start "
                           f"again without --resume (the folder is set aside first)") from None
    return network, progress


def _log_path(folder, start):
    return os.path.join(folder, "training_log", f"counts_{start:08d}.npz")


def _log_files(folder):
    """The chunk files of the training log, in order: (first image, path). Logs of
    version 0.2 and older are plain .npy files; newer ones compressed .npz (spike
    counts are mostly zeros: about 50 times smaller, so that a long training's log
    can be kept with its checkpoint)."""
    files = glob.glob(os.path.join(folder, "training_log", "counts_*.np[yz]"))
    return sorted((int(os.path.basename(f)[7:15]), f) for f in files)


def _read_counts(path):
    try:
        if path.endswith(".npy"):
            return np.load(path)
        with np.load(path) as data:
            return data["counts"]
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise StorageError(f"{path} is corrupt ({error}): delete it and resume; the "
                           f"training goes on without the responses it held") from None


def save_training_counts(folder, start, counts):
    """The responses (n_images, n_e) of the chunk of training images from ``start``."""
    counts = np.asarray(counts, dtype=np.uint16)
    _atomic_write(_log_path(folder, start), lambda f: np.savez_compressed(f, counts=counts))


def load_training_counts(folder, done, n_e, first=0):
    """The responses (done - first, n_e) to training images ``first`` to ``done - 1``,
    from the chunk files, and which images they cover (bool, (done - first,)).

    A chunk file that is missing (say a checkpoint kept without its log) leaves its
    images uncovered, with zero counts: the checkpoint, not the log, is the state of
    the training, so the training can go on; only the records drawn from the log
    (the running accuracy, ``training_log_summary``) skip those images."""
    counts = np.zeros((done - first, n_e), np.uint16)
    covered = np.zeros(done - first, bool)
    files = _log_files(folder)
    for (start, path), (following, _) in zip(files, files[1:] + [(done, None)]):
        if start >= done or following <= first:     # the chunk ends before ``first``
            continue
        part = _read_counts(path)
        if part.ndim != 2 or part.shape[1] != n_e:
            raise StorageError(f"{path} holds responses of shape {part.shape}, not of "
                               f"{n_e} neurons: it belongs to another training. Start "
                               f"again without --resume.")
        low, high = max(start, first), min(start + len(part), done)
        if low < high:
            counts[low - first:high - first] = part[low - start:high - start]
            covered[low - first:high - first] = True
    return counts, covered


def uncovered_stretches(covered):
    """The [start, end) stretches of images that ``covered`` marks False."""
    edges = np.flatnonzero(np.diff(np.concatenate([[1], covered.astype(np.int8), [1]])))
    return [(int(start), int(end)) for start, end in zip(edges[::2], edges[1::2])]


def set_aside(folder):
    """Rename a non-empty network ``folder`` to the first free
    ``<folder>.previous-<k>``, so a new training never overwrites nor mixes with an
    earlier one. Returns the new name, or None if there was nothing to keep. Only a
    network folder is renamed (``ownership.check_new_network_folder``), and only when
    no other command is using it."""
    if not os.path.isdir(folder) or not os.listdir(folder):
        return None
    ownership.check_new_network_folder(folder)
    base = os.path.normpath(folder)
    with ownership.Claim(folder, "setting it aside for a new training"):
        k = 1
        while os.path.exists(f"{base}.previous-{k}"):
            k += 1
        os.rename(base, f"{base}.previous-{k}")
    return f"{base}.previous-{k}"


def load_evaluation(folder):
    """The ``evaluation.json`` that ``evaluate --json FOLDER/evaluation.json`` wrote, or None."""
    path = os.path.join(folder, "evaluation.json")
    if not os.path.exists(path):
        return None
    return load_evaluation_file(path)


EVALUATION_FIELDS = dict(accuracy=float, test_images=int, confusion_matrix=list)


def load_evaluation_file(path):
    """A JSON file written by ``evaluate --json``, checked for the fields that are read."""
    try:
        with open(path) as handle:
            result = json.load(handle)
        for name, kind in EVALUATION_FIELDS.items():
            kind(result[name])
        np.asarray(result["confusion_matrix"], dtype=float).reshape(p.N_CLASSES, p.N_CLASSES)
        int(result.get("repeats", 1))
    except FileNotFoundError:
        raise StorageError(f"{path}: no such file (write one with evaluate --json)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise StorageError(f"{path} is not a result of evaluate --json ({type(error).__name__}: "
                           f"{error})") from None
    return result


def training_log_summary(folder):
    """Mean spikes and active neurons per training image (its accepted
    presentation) from the training log, or None if the log is gone."""
    files = _log_files(folder)
    if not files:
        return None
    parts = [_read_counts(path) for _, path in files]
    for (_, path), part in zip(files, parts):
        if part.ndim != 2 or part.shape[1:] != parts[0].shape[1:]:
            raise StorageError(f"{path} holds responses of shape {part.shape}, unlike "
                               f"{files[0][1]} {parts[0].shape}: it belongs to another "
                               f"training; move it out of {folder}")
    counts = np.concatenate(parts)
    return dict(images=len(counts), spikes_per_image=float(counts.sum(axis=1).mean()),
                active_neurons_per_image=float((counts > 0).sum(axis=1).mean()))


# -- the finished chunks of an unfinished labelling or test ---------------------
def partial_folder(folder, settings, network, images):
    """Where the finished chunks of a frozen phase (``settings.phase``) of the
    network in ``folder`` over ``images`` are kept until the phase completes. The
    name carries a digest of all a chunk's result depends on (network, images,
    seeds, chunk size, switched-off mechanisms, model parameters), so that a run
    with anything else never takes them. Not the number of jobs or threads: the
    results do not depend on them. The engine mode: fast mode's may differ."""
    digest = hashlib.sha256()
    for array in (network.weights, network.theta, images):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update(repr((network.seed, network.w_inh_exc, network.theta_plus, settings.seed,
                        settings.chunk_size, settings.mechanisms, model_parameters())).encode())
    if settings.engine != "exact":      # (exact mode keeps the digests it always had)
        digest.update(settings.engine.encode())
    return os.path.join(folder, "partial", f"{settings.phase}-{digest.hexdigest()[:16]}")


def _chunk_path(directory, start):
    return os.path.join(directory, f"chunk_{start:08d}.npz")


def save_chunk(directory, start, result):
    """The result (a ``PhaseResult``) of the frozen phase's chunk from image ``start``."""
    _atomic_write(_chunk_path(directory, start), lambda f: np.savez_compressed(
        f, counts=result.counts, presentations=result.presentations, log=result.log))


def load_chunk(directory, start):
    """The arrays of ``save_chunk`` (counts, presentations, log) as a dict, or None
    if that chunk is not finished (or its file is unreadable: it is run again)."""
    try:
        with np.load(_chunk_path(directory, start)) as data:
            return {name: data[name] for name in ("counts", "presentations", "log")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def finished_chunks(directory):
    """The first images of the chunks kept in ``directory``."""
    files = glob.glob(os.path.join(directory, "chunk_*.npz"))
    return sorted(int(os.path.basename(f)[6:14]) for f in files)


def remove_partial(directory):
    """Forget the finished chunks of a completed phase (and ``partial/`` once empty)."""
    shutil.rmtree(directory, ignore_errors=True)
    try:
        os.rmdir(os.path.dirname(directory))
    except OSError:
        pass
