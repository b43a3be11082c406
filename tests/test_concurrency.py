"""Two processes running the same program at once each get a build folder of their own."""
import os
import subprocess
import sys

import numpy as np
import pytest

from diehl_cook.engine import claim_build_dir, release_build_dir

from conftest import CHUNK, N_E, ROOT
from test_scripts import env, script  # noqa: F401  (env is a fixture)

CLAIM = ("import sys, time; from diehl_cook.engine import claim_build_dir; "
         "print(claim_build_dir(sys.argv[1]), flush=True); time.sleep(float(sys.argv[2]))")


def test_a_build_folder_in_use_by_another_process_is_not_shared(tmp_path):
    folder = str(tmp_path / "program-job0")
    holder = subprocess.Popen([sys.executable, "-c", CLAIM, folder, "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == folder
        second = subprocess.run([sys.executable, "-c", CLAIM, folder, "0"],
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
        return subprocess.run([sys.executable, "-c", CLAIM, folder, "0"],
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
    assert len([f for f in os.listdir(tmp_path / "build") if not f.endswith(".lock")]) == 2


def test_cache_clearing_keeps_programs_in_use(tmp_path):
    from diehl_cook.engine import cached_programs, remove_program
    for name in ("frozen-a-job0", "frozen-b-job0"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main").write_bytes(b"x" * 1000)
    holder = subprocess.Popen([sys.executable, "-c", CLAIM, str(tmp_path / "frozen-a-job0"), "30"],
                              stdout=subprocess.PIPE, text=True)
    try:
        holder.stdout.readline()
        assert [size for _, size in cached_programs(str(tmp_path))] == [1000, 1000]
        cleared = subprocess.run(["diehl-cook", "cache", "--clear", "--build-dir", str(tmp_path)],
                                 capture_output=True, text=True)
        assert "2 compiled programs" in cleared.stdout
        assert "cleared 1; kept 1 in use" in cleared.stdout
        assert (tmp_path / "frozen-a-job0").exists() and not (tmp_path / "frozen-b-job0").exists()
    finally:
        holder.kill()
        holder.wait()
    assert remove_program(str(tmp_path / "frozen-a-job0"))
    assert cached_programs(str(tmp_path)) == []
