"""Sphinx configuration: numpydoc API pages and the sphinx-gallery built from ``examples/``.

Build with ``pip install -e ".[docs]" && sphinx-build -b html docs docs/_build``
(add ``-D plot_gallery=0`` to skip running the examples). ``tests/test_docs.py`` builds it
with ``-W`` and checks that every public name has a page.
"""

import importlib
import importlib.util
import inspect
import pkgutil
import re

import geoagb

project = "geoagb"
author = "geoagb developers"
copyright = "2026, geoagb developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# One page per public name: the module template (_templates/autosummary/module.rst) lists
# everything in the module's __all__, re-exported names included. Every public module has an
# __all__, so "imported members" means exactly __all__; it must be on because lazy modules
# (kriging, plotting) leave "__all__" out of their dir(), and autosummary then drops every
# name defined elsewhere.
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
# torch is optional (the ``deep`` extra): without it, the deep pages still build.
if importlib.util.find_spec("torch") is None:
    autodoc_mock_imports = ["torch"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r"/\d\d_",
    # Study order: 01_spatial_cv, 02_features, 03_residual_kriging, ... (file-name order).
    "within_subsection_order": "FileNameSortKey",
    # "Examples using X" on each API page.
    "doc_module": ("geoagb",),
    "backreferences_dir": "generated/backreferences",
}
# The CLI page titles each subcommand in full: "geoagb timeseries scale".
sphinxarg_full_subcommand_name = True

html_theme = "alabaster"
html_theme_options = {"page_width": "1180px", "sidebar_width": "240px"}
exclude_patterns = ["_build"]


def _public_modules():
    """``geoagb`` and its public sub-packages and modules (no leading underscore)."""
    return ["geoagb"] + [
        f"geoagb.{m.name}"
        for m in pkgutil.iter_modules(geoagb.__path__)
        if not m.name.startswith("_")
    ]


def _home(obj):
    """The public module a class is defined under: ``geoagb.applicability`` for ``_nndm.NNDM``."""
    parts = getattr(obj, "__module__", "").split(".")
    for i, part in enumerate(parts):
        if part.startswith("_"):
            return ".".join(parts[:i])
    return ".".join(parts)


def _reexported_classes():
    """``{"geoagb.model_selection.NNDM": "geoagb.applicability.NNDM", ...}``: a class exported by
    two public modules is documented in full under its home; the other page points there (two
    full pages would both claim the private canonical name, a duplicate-object warning)."""
    public = _public_modules()
    aliases = {}
    for modname in public:
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            home = _home(obj) if inspect.isclass(obj) else modname
            if home != modname and home in public and name in importlib.import_module(home).__all__:
                aliases[f"{modname}.{name}"] = f"{home}.{name}"
    return aliases


autosummary_context = {"reexported": _reexported_classes()}

# Docstrings write absolute values as |SHAP| and exponents as ``noise_sd``^2, which reST reads as
# substitutions and unterminated literals; show them as written.
_ABS = re.compile(r"(?<![\\\w|`])\|([^|\s`](?:[^|`\n]*[^|\s`])?)\|(?![\w|])")
_LITERAL_POWER = re.compile(r"(\w``)\^")
_INLINE_LITERAL = re.compile(r"(``.+?``)")


def _escape_maths_text(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        parts = _INLINE_LITERAL.split(line)  # odd items are ``literals``: left alone
        parts[::2] = [_ABS.sub(r"\\|\1\\|", part) for part in parts[::2]]
        lines[i] = _LITERAL_POWER.sub(r"\1\\ ^", "".join(parts))


def _skip_generated_sklearn_methods(app, what, name, obj, skip, options):
    """Leave out ``set_fit_request`` and kin: scikit-learn writes them on every estimator class
    (metadata routing) with docstrings that point into scikit-learn's own docs."""
    if what == "class" and name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _escape_maths_text)
    app.connect("autodoc-skip-member", _skip_generated_sklearn_methods)
