"""One name per concept: every public signature against ``docs/glossary.rst``.

Walks ``__all__`` of the root package and of every sub-package (functions, classes'
``__init__`` and public methods) and checks the glossary's rules: ``coords=None``,
``random_state=None``, ``progress=None``, ``n_jobs`` as the one thread count, ``unit`` for one
unit string, ``agb_raster*`` for an AGB map; and that each of these names is in the glossary.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import warnings
from pathlib import Path

import pytest

SUBPACKAGES = [
    "geoagb",
    "geoagb.datasets",
    "geoagb.model_selection",
    "geoagb.metrics",
    "geoagb.features",
    "geoagb.inventory",
    "geoagb.kriging",
    "geoagb.explain",
    "geoagb.mapping",
    "geoagb.applicability",
    "geoagb.timeseries",
    "geoagb.base",
    "geoagb.plotting",
    "geoagb.workflow",
    "geoagb.raster",
]
if importlib.util.find_spec("torch") is not None:
    SUBPACKAGES.append("geoagb.deep")

GLOSSARY = Path(__file__).resolve().parents[1] / "docs" / "glossary.rst"

# The names this test treats as concepts: each must have an entry in the glossary.
CONCEPTS = [
    "coords",
    "random_state",
    "n_jobs",
    "client",
    "progress",
    "verbose",
    "echo",
    "agb_raster",
    "agb",
    "raster",
    "unit",
    "units",
]
# Functions whose argument is an AGB map, and the names it must have.
MAP_ARGUMENTS = {
    ("geoagb.mapping", "evaluate_against_plots"): ["agb_raster"],
    ("geoagb.mapping", "plot_agb_map"): ["agb_raster"],
    ("geoagb.plotting", "plot_agb_map"): ["agb_raster"],
    ("geoagb.mapping", "carbon_stock"): ["agb_raster"],
    ("geoagb.mapping", "agb_class_frequencies"): ["agb_raster"],
    ("geoagb.mapping", "carbon_sink"): ["agb_raster_t0", "agb_raster_t1"],
    ("geoagb.mapping", "compare_maps"): ["agb_raster_a", "agb_raster_b"],
    ("geoagb.workflow", "write_report"): ["agb_raster"],
    ("geoagb.workflow", "report_figures"): ["agb_raster"],
    ("geoagb.workflow", "check_report_inputs"): ["agb_raster"],
}
OLD_MAP_NAMES = {"agb_map", "map_path", "map_t0", "map_t1"}
THREAD_NAMES = {"n_threads", "threads", "workers", "n_workers", "num_threads"}
# The one public ``units``: a list of band units, one per band of the GeoTIFF written.
PER_BAND_UNITS = {("geoagb.raster", "atomic_geotiff")}


def _public_callables():
    seen = set()
    for modname in SUBPACKAGES:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = getattr(mod, name)
            if inspect.isclass(obj):
                items = [(f"{name}.__init__", obj.__init__)] + [
                    (f"{name}.{k}", v)
                    for k, v in vars(obj).items()
                    if callable(v) and not k.startswith("_")
                ]
            elif callable(obj):
                items = [(name, obj)]
            else:
                continue
            for qual, func in items:
                try:
                    sig = inspect.signature(func)
                except (TypeError, ValueError):
                    continue
                key = (modname, qual)
                if key in seen:
                    continue
                seen.add(key)
                yield modname, qual, sig


SIGNATURES = list(_public_callables())


def _params(name):
    return [
        (mod, qual, sig.parameters[name]) for mod, qual, sig in SIGNATURES if name in sig.parameters
    ]


def test_the_walk_finds_the_public_api():
    # a walk that found nothing would pass every rule below
    assert len(SIGNATURES) > 200
    assert len(_params("coords")) > 20 and len(_params("progress")) > 15


@pytest.mark.parametrize("name", ["coords", "random_state", "progress"])
def test_default_is_none(name):
    bad = [
        f"{mod}.{qual}({name}={p.default!r})"
        for mod, qual, p in _params(name)
        if p.default is not inspect.Parameter.empty and p.default is not None
    ]
    assert not bad, f"the glossary says {name}=None by default; these differ: {bad}"


def test_one_thread_parameter_name():
    bad = [
        f"{mod}.{qual}({pname})"
        for mod, qual, sig in SIGNATURES
        for pname in sig.parameters
        if pname in THREAD_NAMES
    ]
    assert not bad, f"the thread count is n_jobs everywhere: {bad}"


def test_unit_is_one_string_units_only_per_band():
    bad = [
        f"{mod}.{qual}" for mod, qual, _ in _params("units") if (mod, qual) not in PER_BAND_UNITS
    ]
    assert not bad, f"one unit string is unit=, not units=: {bad}"


def test_agb_map_arguments_are_named_agb_raster():
    by_key = {(mod, qual): sig for mod, qual, sig in SIGNATURES}
    for key, names in MAP_ARGUMENTS.items():
        params = list(by_key[key].parameters)
        assert all(n in params for n in names), (key, params)
    old = [
        f"{mod}.{qual}({pname})"
        for mod, qual, sig in SIGNATURES
        for pname in sig.parameters
        if pname in OLD_MAP_NAMES
    ]
    assert not old, f"an AGB map argument is agb_raster: {old}"


def test_every_concept_is_in_the_glossary():
    text = GLOSSARY.read_text(encoding="utf-8")
    missing = [n for n in CONCEPTS if not re.search(rf"``{re.escape(n)}``", text)]
    assert not missing, f"docs/glossary.rst has no entry for {missing}"
    used = {pname for _, _, sig in SIGNATURES for pname in sig.parameters}
    assert set(CONCEPTS) - {"units"} <= used | {"agb"}, set(CONCEPTS) - used


def test_old_keyword_names_still_work_with_a_futurewarning():
    from geoagb.kriging import plot_variogram
    from geoagb.mapping import compare_maps

    with pytest.warns(FutureWarning, match=r"units= is now unit="):
        with pytest.raises(TypeError):  # reached the function under its new name
            plot_variogram(units="Mg/ha")
    with pytest.raises(TypeError, match="both a= and agb_raster_a="):
        compare_maps(a="x.tif", agb_raster_a="x.tif", agb_raster_b="y.tif")
