"""The README's quick start, run in a fresh copy of the repository: every command
works, and afterwards ``git status`` shows no tracked file changed.

The commands are read from the README's quick-start block and run as written, with
only smaller image counts added (``--examples``, ``--label-examples``) so that the
test takes minutes, not the half hour of the real thing. MNIST comes from
``$MNIST_DIR`` (no download: the download step is run as ``--verify``).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT

# Added to each command of the quick start: fewer images, the same steps.
SMALLER = {"train.py": ["--examples", "300", "--no-progress"],
           "evaluate.py": ["--examples", "200", "--label-examples", "500", "--no-progress"],
           "classify.py": [], "download_mnist.py": ["--verify"]}


def quick_start_commands():
    """The ``python scripts/...`` lines of the README's quick-start block."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        readme = handle.read()
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    return [shlex.split(command) for command in commands if command.startswith("python scripts/")]


def fresh_copy(folder):
    """A clone of this repository at ``folder`` holding the working tree's tracked and
    new files (so uncommitted work is what is tested), committed, so that ``git
    status`` is clean before the quick start."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run(git + ["clone", "--quiet", "--shared", ROOT, str(folder)], check=True)
    diff = subprocess.run(["git", "-C", ROOT, "diff", "HEAD", "--binary"], check=True,
                          capture_output=True).stdout
    if diff:
        subprocess.run(["git", "-C", str(folder), "apply", "--whitespace=nowarn"], input=diff,
                       check=True)
    new = subprocess.run(["git", "-C", ROOT, "ls-files", "--others", "--exclude-standard", "-z"],
                         check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, new):
        os.makedirs((folder / name).parent, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), folder / name)
    subprocess.run(git + ["-C", str(folder), "add", "-A"], check=True)
    subprocess.run(git + ["-C", str(folder), "commit", "--quiet", "--allow-empty", "-m", "work"],
                   check=True)


@pytest.mark.compile
def test_the_quick_start_works_and_changes_no_tracked_file(tmp_path, mnist_path, build_dir):
    if subprocess.run(["git", "-C", ROOT, "rev-parse"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    clone = tmp_path / "diehl-cook"
    fresh_copy(clone)
    # A picture of a digit, as a user would have: an MNIST test image, dark on white.
    from diehl_cook import data
    image = data.load("testing", mnist_path, 1)[0][0]
    Image.fromarray(255 - image).resize((112, 112)).save(clone / "my_digit.png")
    environment = dict(os.environ, MNIST_DIR=mnist_path, DIEHL_COOK_BUILD_DIR=build_dir,
                       PYTHONPATH=str(clone))
    commands = quick_start_commands()
    assert [command[1] for command in commands] == [
        "scripts/download_mnist.py", "scripts/evaluate.py", "scripts/train.py",
        "scripts/evaluate.py", "scripts/classify.py"]
    outputs = []
    for command in commands:
        command = [sys.executable] + command[1:] + SMALLER[os.path.basename(command[1])]
        done = subprocess.run(command, cwd=clone, env=environment, capture_output=True,
                              text=True)
        assert done.returncode == 0, f"{shlex.join(command)}:\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout + done.stderr)
    assert "network: weights/n400 (the shipped 400-neuron network" in outputs[1]
    assert re.search(r"accuracy: \d+\.\d\d%", outputs[1])
    assert "runs/n100" in outputs[2]
    assert "network: runs/n100 (the network trained last into runs/" in outputs[3]
    assert "has no assignments: labelling it first" in outputs[3]
    assert re.search(r"my_digit.png: \d", outputs[4])
    status = subprocess.run(["git", "-C", str(clone), "status", "--porcelain"], check=True,
                            capture_output=True, text=True).stdout.splitlines()
    assert status == ["?? my_digit.png"], status        # runs/ is left out by .gitignore
    assert np.load(clone / "runs" / "n100" / "assignments.npy").shape == (100,)
