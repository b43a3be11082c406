"""The README and the documentation pages: short README, no broken link or missing
figure, and the tutorial's figures are the shipped network's.

(The site's build itself, with warnings as errors, runs in CI: ``.ci/run``.)
"""
import glob
import json
import os
import re

import pytest

from diehl_cook.plots import ABLATION_TITLES

from conftest import ROOT

PAGES = [os.path.join(ROOT, "README.md"), os.path.join(ROOT, "CHANGELOG.md")] + sorted(
    glob.glob(os.path.join(ROOT, "docs", "*.md")))
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading):
    """The anchor GitHub and MyST give a heading: lower case, punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def anchors(path):
    with open(path) as handle:
        text = re.sub(r"```.*?```", "", handle.read(), flags=re.S)
    return {slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def links(path):
    """(target, line) of every relative link and image of a Markdown file, outside
    code blocks."""
    with open(path) as handle:
        text = re.sub(r"```.*?```", lambda block: "\n" * block.group().count("\n"),
                      handle.read(), flags=re.S)
    for number, line in enumerate(text.splitlines(), 1):
        for target in LINK.findall(line):
            if not re.match(r"[a-z]+:", target):
                yield target, number


def test_the_readme_is_short():
    with open(os.path.join(ROOT, "README.md")) as handle:
        assert len(handle.readlines()) <= 250


@pytest.mark.parametrize("page", PAGES, ids=lambda page: os.path.relpath(page, ROOT))
def test_every_link_and_figure_of_a_page_exists(page):
    for target, line in links(page):
        file, _, anchor = target.partition("#")
        path = os.path.normpath(os.path.join(os.path.dirname(page), file)) if file else page
        where = f"{os.path.relpath(page, ROOT)}:{line}: {target}"
        assert os.path.exists(path), f"{where}: no such file"
        if anchor and path.endswith(".md"):
            assert anchor in anchors(path), f"{where}: no such heading"


def test_the_readme_links_every_documentation_page():
    readme = {os.path.normpath(os.path.join(ROOT, target.partition("#")[0]))
              for target, _ in links(os.path.join(ROOT, "README.md"))}
    for page in glob.glob(os.path.join(ROOT, "docs", "*.md")):
        if os.path.basename(page) not in ("index.md", "changelog.md"):
            assert page in readme, f"the README does not link {os.path.relpath(page, ROOT)}"


def test_the_tutorials_figures_are_the_shipped_networks():
    with open(os.path.join(ROOT, "figures", "tutorial_results.json")) as handle:
        results = json.load(handle)
    with open(os.path.join(ROOT, "weights", "n400", "metadata.json")) as handle:
        shipped = json.load(handle)["sha256"]["weights"]
    inhibition = results["inhibition"]
    assert inhibition["weights_sha256"] == shipped, (
        "figures/tutorial_results.json is of another network than weights/n400: run "
        "python scripts/tutorial.py inhibition --out figures")
    with open(os.path.join(ROOT, "docs", "tutorial.md")) as handle:
        tutorial = handle.read()
    for state, row in (("on", "on (the model)"), ("off", "off")):
        counts = inhibition[state]
        assert (f"| {row} | {counts['spikes']} | {counts['active_neurons']} of 400 |"
                in tutorial), f"the tutorial's inhibition {state} row is not {counts}"
    assert f"mean {inhibition['nonzero_pixels_mean']:.1f}" in tutorial


def test_the_tutorials_ablation_table_is_its_results():
    with open(os.path.join(ROOT, "figures", "tutorial_results.json")) as handle:
        variants = json.load(handle)["ablations"]["variants"]
    with open(os.path.join(ROOT, "docs", "tutorial.md")) as handle:
        rows = [line for line in handle if line.startswith("| ") and "|" in line[2:]]
    names = ABLATION_TITLES     # the figure's names are the table's
    for variant in variants:
        row = next(line for line in rows if line.startswith(f"| {names[variant['mechanisms']]} |"))
        if variant["accuracy"] is None:
            assert row.rstrip().endswith("| none |"), row
            continue
        assert f"**{100 * variant['accuracy']:.2f}%**" in row, row
        assert f"{variant['active_neurons_per_image']:.1f} ({variant['spikes_per_image']:.1f} spikes)" in row, row
