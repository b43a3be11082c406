"""Two processes running the same program at once each get a build folder of their own."""
import os
import subprocess
import sys

import numpy as np
import pytest

from diehl_cook.programs import claim_build_dir, release_build_dir

from conftest import CHUNK, DIEHL_COOK, N_E, ROOT
from test_scripts import env, refused  # noqa: F401  (env is a fixture)

pytestmark = pytest.mark.process

# Claims a build folder; with "hold", keeps it until the test kills it (a fixed
# time would be a race with the commands under test on a loaded machine).
CLAIM = ("import sys; from diehl_cook.programs import claim_build_dir; "
         "print(claim_build_dir(sys.argv[1]), flush=True); "
         "sys.argv[2] == 'hold' and sys.stdin.read()")


def test_a_build_folder_in_use_by_another_process_is_not_shared(tmp_path):
    folder = str(tmp_path / "program-job0")
    holder = subprocess.Popen([sys.executable, "-c", CLAIM, folder, "hold"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == folder
        second = subprocess.run([sys.executable, "-c", CLAIM, folder, "go"],
                                capture_output=True, text=True)
        assert second.stdout.strip() == folder + "-2"
    finally:
        holder.kill()
        holder.wait()
    # Held by this process: shared by its engines; free again once the holder is gone.
    assert claim_build_dir(folder) == folder == claim_build_dir(folder)


def test_a_build_folder_is_free_again_once_its_engines_are_closed(tmp_path):
    """A phase releases its program folder when it ends (``Engine.close``), so a
    later process, e.g. the next command, reuses the compiled program."""
    folder = str(tmp_path / "program-job0")

    def other_process_gets():
        return subprocess.run([sys.executable, "-c", CLAIM, folder, "go"],
                              capture_output=True, text=True).stdout.strip()
    assert claim_build_dir(folder) == folder == claim_build_dir(folder)  # two engines here
    release_build_dir(folder)
    assert other_process_gets() == folder + "-2"     # one engine still uses it
    release_build_dir(folder)
    assert other_process_gets() == folder


@pytest.mark.compile
def test_two_trainings_with_the_same_settings_at_once(tmp_path, env):  # noqa: F811
    """The case that crashed ("Text file busy"): same size, seed and chunk size, one
    build cache, started together. Both finish with the same network."""
    runs = [subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "scripts", "train.py"), "--n-e", str(N_E),
         "--examples", str(CHUNK), "--chunk-size", str(CHUNK), "--rule", "triplet",
         "--no-progress", "--out", str(tmp_path / f"run{k}"),
         "--build-dir", str(tmp_path / "build")],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in (1, 2)]
    for run in runs:
        _, errors = run.communicate(timeout=900)
        assert run.returncode == 0, errors
    first, second = (np.load(tmp_path / f"run{k}" / "weights.npy") for k in (1, 2))
    assert np.array_equal(first, second)
    build = tmp_path / "build"
    assert len([f for f in os.listdir(build) if os.path.isdir(build / f)]) == 2




def make_program_folder(folder):
    from diehl_cook import ownership
    ownership.mark(str(folder), ownership.PROGRAM_MARKER)
    (folder / "main").write_bytes(b"x" * 1000)


def test_cache_clearing_keeps_programs_in_use(tmp_path):
    from diehl_cook.programs import cached_programs, remove_program
    for name in ("frozen-a-job0", "frozen-b-job0"):
        make_program_folder(tmp_path / name)
    holder = subprocess.Popen([sys.executable, "-c", CLAIM, str(tmp_path / "frozen-a-job0"),
                               "hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        assert len(cached_programs(str(tmp_path))) == 2
        cleared = subprocess.run([DIEHL_COOK, "cache", "--clear", "--build-dir", str(tmp_path)],
                                 capture_output=True, text=True)
        assert "2 compiled programs" in cleared.stdout
        assert "cleared 1; kept 1 in use" in cleared.stdout
        assert (tmp_path / "frozen-a-job0").exists() and not (tmp_path / "frozen-b-job0").exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_program(str(tmp_path / "frozen-a-job0"))
    assert cached_programs(str(tmp_path)) == []


def test_cache_clearing_touches_only_the_folders_it_made(tmp_path):
    """A mistyped --build-dir (or $DIEHL_COOK_BUILD_DIR) pointing at a user's folder."""
    make_program_folder(tmp_path / "frozen-n400-chunk1000-abc-job0")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("...")
    network = tmp_path / "my-network"
    network.mkdir()
    (network / "metadata.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("...")
    cleared = subprocess.run([DIEHL_COOK, "cache", "--clear", "--build-dir", str(tmp_path)],
                             capture_output=True, text=True)
    assert cleared.returncode == 0, cleared.stderr
    assert "1 compiled programs" in cleared.stdout and "never touched" in cleared.stdout
    assert (tmp_path / "thesis" / "chapter1.tex").exists()
    assert (network / "metadata.json").exists() and (tmp_path / "notes.txt").exists()
    assert not (tmp_path / "frozen-n400-chunk1000-abc-job0").exists()


def test_a_build_folder_that_is_a_file_is_an_error(tmp_path):
    build = tmp_path / "build"
    build.write_text("not a folder")
    for command in (["cache", "--clear"], ["cache"]):
        done = refused(*command, "--build-dir", build)
        assert done.returncode == 2 and "is a file" in done.stderr, done.stderr
    from diehl_cook.programs import claim_build_dir
    from diehl_cook.errors import StorageError
    with pytest.raises(StorageError, match="is a file"):
        claim_build_dir(str(build / "program-job0"))
    assert build.read_text() == "not a folder"


def test_a_build_folder_that_cannot_be_written_is_an_error(tmp_path, monkeypatch):
    """A read-only or full disk: one line that says which folder and what to do."""
    from diehl_cook.programs import claim_build_dir
    from diehl_cook.errors import StorageError

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(os, "makedirs", read_only)
    with pytest.raises(StorageError, match="cannot use the build folder .*Read-only.*--build-dir"):
        claim_build_dir(str(tmp_path / "build" / "program-job0"))


def test_a_folder_that_is_not_a_program_is_never_built_into(tmp_path):
    from diehl_cook.programs import claim_build_dir, release_build_dir
    (tmp_path / "program-job0").mkdir()
    (tmp_path / "program-job0" / "mine.txt").write_text("a user's file")
    claimed = claim_build_dir(str(tmp_path / "program-job0"))
    assert claimed == str(tmp_path / "program-job0") + "-2"
    release_build_dir(claimed)
    assert os.listdir(tmp_path / "program-job0") == ["mine.txt"]
