"""Sphinx configuration of journeymine's documentation site.

Built with ``make docs`` (and by ``tests/test_docs_site.py`` in ``make test``) with warnings
as errors. Sphinx with the PyData theme, numpydoc and MyST-NB is the stack of pandas,
scikit-learn and NumPy: our docstrings are numpydoc already, the user guides are Markdown
(MyST reads them as they are on GitHub), and the notebooks show with their stored outputs
(never executed here: ``make test`` executes them).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT / "src"))

import journeymine  # noqa: E402

project = "journeymine"
author = "journeymine developers"
copyright = "journeymine developers"  # noqa: A001 - Sphinx's name
release = journeymine.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
]

# the notebooks (outside docs/) are copied into the gallery at build start; the README is
# included by getting-started.md
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
templates_path = ["_templates"]

# .rst first: autosummary writes its pages with the first suffix
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # stored outputs; make test runs the notebooks
nb_merge_streams = True
# the notebooks' HTML outputs (maps, tables, reports) are shown as they are
nb_render_markdown_format = "myst"

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_member_order = "bysource"
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_attributes_as_param_list = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

html_theme = "pydata_sphinx_theme"
html_title = f"journeymine {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
    "header_links_before_dropdown": 6,
}
html_context = {"default_mode": "auto"}
html_static_path: list[str] = []
html_last_updated_fmt = None  # no build date: the same sources give the same pages
html_copy_source = False
suppress_warnings = [
    # myst-nb: notebook outputs with mime types Sphinx cannot show (widget state) are skipped
    "mystnb.unknown_mime_type",
]


def _copy_notebooks(app: object) -> None:
    """The executed notebooks, copied into the gallery folder (not tracked by git)."""
    gallery = DOCS / "gallery"
    gallery.mkdir(exist_ok=True)
    for old in gallery.glob("*.ipynb"):
        old.unlink()
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copyfile(notebook, gallery / notebook.name)


# a link to a notebook (../notebooks/NN_name.ipynb from docs/, notebooks/... from the README)
# points to its gallery page on the site, as it points to the file on GitHub
_NOTEBOOK_LINK = re.compile(r"\]\((?:\.\./)?notebooks/(\w+)\.ipynb\)")


def _gallery_links(app: object, docname: str, source: list[str]) -> None:
    depth = docname.count("/")
    prefix = "../" * depth + "gallery/"
    source[0] = _NOTEBOOK_LINK.sub(lambda m: f"]({prefix}{m.group(1)}.ipynb)", source[0])


def _gallery_links_included(app: object, relative_path: Path, parent_docname: str, content: list[str]) -> None:
    _gallery_links(app, parent_docname, content)
    # the README links the changelog file; on the site it is the changelog page
    content[0] = content[0].replace("](CHANGELOG.md)", "](changelog.md)")


def setup(app: object) -> None:
    os.environ.setdefault("JOURNEYMINE_PROGRESS", "0")
    app.connect("builder-inited", _copy_notebooks)  # type: ignore[attr-defined]
    app.connect("source-read", _gallery_links)  # type: ignore[attr-defined]
    app.connect("include-read", _gallery_links_included)  # type: ignore[attr-defined]
