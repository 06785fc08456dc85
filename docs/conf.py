"""Sphinx configuration: numpydoc API pages and the sphinx-gallery built from ``examples/``.

Build with ``pip install -e ".[docs]" && sphinx-build -b html docs docs/_build``.
"""

project = "geoagb"
author = "geoagb developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
autosummary_generate = True
numpydoc_show_class_members = False
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r"/\d\d_",
}
html_theme = "alabaster"
exclude_patterns = ["_build"]
