"""Sphinx configuration of the documentation site.

Build (from the repository's folder): python -m sphinx -W --keep-going -b html docs docs/_build/html
Sphinx, because the API reference comes from the package's docstrings (autodoc, as
Brian 2's own documentation does) and the command-line reference from the argument
parser itself (sphinx-argparse); the pages are Markdown (MyST), which GitHub shows
as they are.
"""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)

from diehl_cook import __version__  # noqa: E402

project = "diehl-cook"
author = "the diehl-cook contributors"
copyright = "2026, the diehl-cook contributors"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon",
              "sphinx.ext.viewcode", "sphinxarg.ext"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3            # [text](page.md#a-heading) links
suppress_warnings = ["myst.header"]  # pages moved from the README start at ## in places
nitpicky = False

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"
napoleon_numpy_docstring = True

html_theme = "furo"
html_title = f"diehl-cook {release}"
