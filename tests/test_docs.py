"""The documentation builds with zero warnings (gallery execution off: the examples run as
their own scripts), gives every public name a page, and documents every CLI subcommand.

One build, shared by the tests of this module: about 30 s (28 s of CPU, measured on 2 shared cores).
"""

import argparse
import importlib
import importlib.util
import pkgutil
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

import geoagb
from geoagb.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def public_modules():
    """``geoagb`` and every public sub-package or module (``geoagb.cli`` included)."""
    names = [m.name for m in pkgutil.iter_modules(geoagb.__path__) if not m.name.startswith("_")]
    return ["geoagb"] + [f"geoagb.{name}" for name in sorted(names)]


def public_names():
    """``geoagb.<sub>.<name>`` for every name in every public module's ``__all__``."""
    names = []
    for modname in public_modules():
        module = importlib.import_module(modname)
        assert hasattr(module, "__all__"), f"{modname} has no __all__: list its public names"
        names += [f"{modname}.{name}" for name in module.__all__ if not name.startswith("_")]
    return names


def subcommands(parser, prefix=()):
    """Every subcommand path of ``parser``: ``("fit",)``, ``("timeseries", "scale")``, ..."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found += subcommands(sub, (*prefix, name))
    return found


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    needed = ["sphinx", "sphinx_gallery", "numpydoc", "sphinxarg"]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    assert not missing, (
        f"{missing} not installed: pip install -e '.[test]' (the docs build is a test)"
    )
    tmp = tmp_path_factory.mktemp("docs")
    src = tmp / "src"
    shutil.copytree(
        ROOT / "docs",
        src / "docs",
        ignore=shutil.ignore_patterns("_build", "gallery", "generated", "sg_execution_times.rst"),
    )
    shutil.copytree(ROOT / "examples", src / "examples")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(src / "docs"),
            str(tmp / "html"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return tmp / "html"


def test_docs_build_without_warnings(html):
    assert (html / "index.html").exists()
    # Study order: the gallery index links 01_..., 02_..., ... in file-name order.
    index = (html / "gallery" / "index.html").read_text()
    examples = sorted(p.stem for p in (ROOT / "examples").glob("[0-9][0-9]_*.py"))
    positions = [index.find(f'href="{name}.html"') for name in examples]
    assert -1 not in positions, dict(zip(examples, positions))
    assert positions == sorted(positions), "gallery thumbnails are out of file-name order"
    # The footer names the copyright holder ("©. |" when copyright is unset).
    assert "geoagb developers" in (html / "index.html").read_text()


def test_every_public_name_has_a_page(html):
    missing = [
        name for name in public_names() if not (html / "generated" / f"{name}.html").exists()
    ]
    assert not missing, f"public names with no API page (add the module to docs/api.rst): {missing}"
    # Each module page lists its members (a table linking each page).
    for modname in public_modules():
        page = (html / "generated" / f"{modname}.html").read_text()
        module = importlib.import_module(modname)
        for name in module.__all__:
            if not name.startswith("_"):
                assert f'href="{modname}.{name}.html' in page, (modname, name)


def test_cli_page_lists_every_subcommand(html):
    page = (html / "cli.html").read_text()
    text = unescape(re.sub(r"<[^>]+>", "", page))
    commands = subcommands(build_parser())
    assert {"demo", "compile", "fit", "map", "report", "timeseries"} <= {c[0] for c in commands}
    # Each subcommand has a section titled with its full name ("geoagb timeseries scale¶").
    missing = [" ".join(c) for c in commands if f"geoagb {' '.join(c)}\N{PILCROW SIGN}" not in text]
    assert not missing, f"CLI subcommands missing from the page of docs/cli.rst: {missing}"
    assert 'href="security.html' in page  # --trust points at the threat model
