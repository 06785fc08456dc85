"""The report is safe to open and says when its inputs do not fit (issue 24).

One module fixture fits a small bundle on a 300 m scene whose every user-chosen name is hostile
(markup in the target, unit, feature, raster, plot and map file names and the command; ``$``
in the target and a feature), and maps it. The tests then check that

* every such string, and every string field of the manifest, reaches the HTML only escaped:
  the parsed document holds only geoagb's own tags and attributes, and each hostile string is
  in its text exactly once escaped;
* names with ``$`` are drawn literally by matplotlib (``$\\frac{$`` would stop mathtext);
* a tampered manifest (n_splits as markup, an input hash that is not hex, feature_names
  missing ...) is refused with one line naming the file, the field, what it holds and the fix;
* a map that is not a geoagb map of the target (a 3-band feature stack, an NDVI raster, a SHAP
  raster), a map 100 km from the plots, regions 10 km off the map and a missing regions file
  are refused with the numbers of both extents; regions partly off the map give a warning.
"""

from __future__ import annotations

import html
import json
import os
import warnings
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from geoagb._html import Html, element, esc, join, kv_table, mpl_text, table
from geoagb.cli import main
from geoagb.workflow import load_bundle, report_figures, write_report
from geoagb.workflow._manifest import validate_manifest
from geoagb.workflow._report import carbon_table, check_report_inputs

UTM = "EPSG:32648 (WGS 84 / UTM zone 48N)"
MAP_SPAN = f"x 500,000 to 500,300, y 2,750,000 to 2,750,300 in {UTM}"
FIX = "write the bundle again with geoagb fit."


def H(field: str) -> str:
    """A hostile name: a script and an image whose error handler runs code."""
    return f"<script>alert('{field}')</script><img src=x onerror=alert('{field}')>"


def F(field: str) -> str:
    """A hostile file name (no slash)."""
    return f"<svg onload=alert('{field}')>"


TARGET = H("target") + r"$\frac{$"  # mathtext would stop on this
FEATURE = "h" + H("feature") + "$y$"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A random-forest bundle with hostile names and its 30 m map (10 x 10 cells)."""
    import matplotlib

    matplotlib.use("Agg")
    from geoagb.datasets import make_scene
    from geoagb.workflow import fit_bundle

    d = tmp_path_factory.mktemp("safety")
    scene = make_scene(d / "scene", size_m=300, n_plots=40, random_state=3)
    rdir = d / "rasters"
    rdir.mkdir()
    rasters = {}
    for k in ("image", "chm"):
        rasters[k] = str(rdir / f"{F(k)}.tif")
        os.symlink(scene.sources[k], rasters[k])
    pl = scene.plots
    csv = d / f"{F('plots')}.csv"
    pd.DataFrame({"x": pl["x"], "y": pl["y"], TARGET: pl["agb"]}).to_csv(csv, index=False)
    fit_bundle(
        csv,
        rasters,
        d / "m.geoagb",
        target=TARGET,
        unit=H("unit"),
        carbon_fraction=0.47,  # a hostile unit is no biomass unit: declare it, for the carbon table
        model="rf",
        config={"bands": ["red", "nir"], "indices": ["ndvi"], "extra": {FEATURE: ["chm", 1]}},
        x="x",
        y="y",
        crs="EPSG:32648",
        footprint=scene.plot_size_m,
        map_resolution=30.0,
        block_size=100.0,
        n_splits=3,
        qc=False,
        n_estimators=20,
        command=H("command"),
        echo=lambda s: None,
        random_state=0,
    )
    bundle = load_bundle(d / "m.geoagb")
    agb = bundle.predict_map(rasters, d / f"{F('map')}.tif", progress=False)
    return {"dir": d, "bundle": d / "m.geoagb", "map": Path(agb), "rasters": rasters}


def _bundle(made):
    return load_bundle(made["bundle"])


class _Doc(HTMLParser):
    """Tags, attributes and text of an HTML document (entities decoded, as a browser does)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.data = [], {}, []
        self.feed(text)
        self.text = "".join(self.data)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.setdefault(tag, set()).update(k for k, _ in attrs)
        self.data += [v or "" for _, v in attrs]

    def handle_data(self, data):
        self.data.append(data)


# ---- the escaping helpers --------------------------------------------------------------------
def test_html_helpers_escape_by_hand():
    assert esc("<a href='x'>&\"") == "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;"
    assert esc(esc("<b>")) == "&lt;b&gt;"  # Html is not escaped twice
    assert (
        element("td", "<b>", Html("<i>x</i>"), class_="n") == '<td class="n">&lt;b&gt;<i>x</i></td>'
    )
    assert element("img", alt='"><script>', src="a.png") == (
        '<img alt="&quot;&gt;&lt;script&gt;" src="a.png">'
    )
    assert join(["<", ">"], " & ") == "&lt; &amp; &gt;"
    df = pd.DataFrame({"<c>": [1.25, np.nan], "t": ["<x>", "y"]}, index=pd.Index(["<r>", "s"]))
    assert table(df, "{:.1f}") == (
        "<table><thead><tr><th></th><th>&lt;c&gt;</th><th>t</th></tr></thead><tbody>"
        "<tr><th>&lt;r&gt;</th><td>1.2</td><td>&lt;x&gt;</td></tr>"
        "<tr><th>s</th><td></td><td>y</td></tr></tbody></table>"
    )
    assert kv_table([("<k>", "<v>")]) == (
        '<table class="kv"><tbody><tr><th>&lt;k&gt;</th><td>&lt;v&gt;</td></tr></tbody></table>'
    )
    with pytest.raises(ValueError, match="not a plain lower-case tag name"):
        element("script onload=x")
    with pytest.raises(ValueError, match="not a plain lower-case name"):
        element("p", **{"on load": "x"})
    assert mpl_text("a $x$ and \\$") == "a \\$x\\$ and \\\\$"


# ---- 1. one escaping path --------------------------------------------------------------------
_TEXT_FIELDS = (
    "target unit feature command crs_name created geoagb_version label class cvlabel note "
    "qcfeature kmethod kvariogram reason detail plotid regionA regionB"
).split()
_FILE_FIELDS = ("plots", "image", "chm", "map")
_OURS = {
    "html": {"lang"},
    "head": set(),
    "meta": {"charset"},
    "title": set(),
    "style": set(),
    "body": set(),
    "h1": set(),
    "h2": set(),
    "p": {"class"},
    "table": {"class"},
    "thead": set(),
    "tbody": set(),
    "tr": set(),
    "th": set(),
    "td": set(),
    "pre": set(),
    "code": set(),
    "figure": set(),
    "img": {"alt", "title", "src"},
    "figcaption": set(),
    "b": set(),
}


def test_hostile_names_in_every_field_reach_the_html_only_escaped(made, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    b = _bundle(made)
    m = b.manifest
    for k in ("crs_name", "created", "geoagb_version"):
        m[k] = H(k)
    m["model"]["label"] = H("label")
    m["model"]["class"] = H("class") + ".RandomForestRegressor"  # the map's estimator
    m["cv"]["label"] = H("cvlabel")
    m["block_size"]["notes"] = [H("note")]
    m["qc"].update(rule="studentized", features=[H("qcfeature")], threshold=3.0)
    m["kriging"] = {
        "method": H("kmethod"),
        "correction": "full",
        "shrinkage": 0.5,
        "estimated_gain": 0.1,
        "variogram_model": H("kvariogram"),
        "effective_range_m": 50.0,
    }
    b.qc = pd.DataFrame(
        {"reason": [H("reason")], "detail": [H("detail")], "observed": [1.0]}
        | {"predicted": [2.0], "statistic": [3.0], "x": [500100.0], "y": [2750100.0]},
        index=pd.Index([H("plotid")], name="plot"),
    )
    regions = gpd.GeoDataFrame(
        {"name": [H("regionA") + "$r$", H("regionB")]},
        geometry=[box(500000, 2750000, 500150, 2750300), box(500150, 2750000, 500300, 2750300)],
        crs="EPSG:32648",
    )
    out = write_report(
        b, tmp_path / "r.html", made["map"], regions=regions, by="name", echo=lambda s: None
    )
    text = out.read_text()
    doc = _Doc(text)
    # only geoagb's own elements and attributes; images are embedded PNGs
    assert set(doc.tags) <= set(_OURS), set(doc.tags) - set(_OURS)
    for tag, names in doc.attrs.items():
        assert names <= _OURS[tag], (tag, names)
    assert "<script" not in text.lower() and "<svg" not in text.lower()
    assert "<img src=x" not in text.lower() and "<img " not in text.replace("<img alt=", "")
    assert doc.tags.count("img") == 11  # 10 figures and the carbon stock of the 2 regions
    # every hostile string is in the document, as text a reader sees, and in the source escaped
    for f in _TEXT_FIELDS:
        assert H(f) in doc.text, f
        assert html.escape(H(f)) in text, f
    for f in _FILE_FIELDS:
        assert F(f) in doc.text, f
        assert html.escape(F(f)) in text, f
    assert f"Map of {TARGET} ({F('map')}.tif)" in doc.text  # the map title, with its file name
    assert "Carbon = " + TARGET + " x cell area" in doc.text


# ---- 3. names with $ are drawn literally -----------------------------------------------------
def test_names_with_dollars_are_drawn_literally(made):
    import matplotlib.pyplot as plt
    from matplotlib.cbook import is_math_text

    b = _bundle(made)
    b.manifest["cv"]["label"] = "$z$ CV"
    assert is_math_text(f"{TARGET} ({b.unit})")  # unescaped, the label is mathtext ...
    with pytest.raises(ValueError, match="frac"):  # ... which stops on it
        fig, ax = plt.subplots()
        ax.set_xlabel(f"{TARGET} ({b.unit})")
        fig.canvas.draw()
    figs, _ = report_figures(b)
    assert len(figs) == 9
    for _, title, fig, _ in figs:
        fig.canvas.draw()  # would raise in mathtext
        texts = fig.findobj(lambda a: hasattr(a, "get_parse_math") and a.get_text())
        for t in texts:
            assert not (t.get_parse_math() and is_math_text(t.get_text())), t.get_text()
        assert title.endswith("$z$ CV")
    target_fig = figs[1][2]
    shown = target_fig.axes[0].get_xlabel().replace("\\$", "$")  # as matplotlib draws it
    assert shown == f"{TARGET} ({b.unit})"
    shap = figs[6][2]  # the SHAP summary: feature names set by geoagb.explain, drawn as they are
    labels = [t.get_text() for t in shap.axes[0].get_yticklabels()]
    assert FEATURE in labels


# ---- 2. the manifest is checked ------------------------------------------------------------------
def _manifest(made):
    with zipfile.ZipFile(made["bundle"]) as z:
        return json.loads(z.read("manifest.json"))


_TAMPER = [
    (
        lambda m: m["cv"].update(n_splits="<b>5</b>"),
        "manifest field cv.n_splits is '<b>5</b>' (text), expected a whole number >= 2",
    ),
    (lambda m: m["cv"].update(n_splits=1), "cv.n_splits is 1 (a whole number), expected"),
    (
        lambda m: m.update(input_hash="g" * 64),
        # repr cut to 56 characters: the quote and 55 g
        "input_hash is '" + "g" * 55 + " ... (text), expected a SHA-256 hash (64 lower-case "
        "hexadecimal characters)",
    ),
    (lambda m: m.update(input_hash="ab12"), "input_hash is 'ab12' (text)"),
    (
        lambda m: m.pop("feature_names"),
        "manifest.json lacks field feature_names (a non-empty list of non-empty strings",
    ),
    (lambda m: m["plots"].update(n_read="<script>"), "plots.n_read is '<script>' (text)"),
    (
        lambda m: m["plots"].update(n_read=10),
        "plots.n_read is 10 (a whole number), expected at least plots.n_used + "
        "plots.n_dropped = 40",
    ),
    (lambda m: m.update(feature_names=["red", 3]), "feature_names[1] is 3 (a whole number)"),
    (lambda m: m["model_columns"].append("evil"), "but 'evil' is not a feature"),
    (lambda m: m.update(crs_wkt="EPSG:none"), "crs_wkt is 'EPSG:none' (text), expected a CRS"),
    (lambda m: m["cv"]["spatial"].pop("pooled_r2"), "lacks field cv.spatial.pooled_r2"),
    (lambda m: m["block_size"].update(used_m=-5.0), "block_size.used_m is -5.0 (a number)"),
    (lambda m: m.update(recipe={"evil": 1}), "feature recipe keys"),
    (lambda m: m.update(kriging={"method": "simple"}), "lacks field kriging.correction"),
    (lambda m: m["rasters"]["sources"].update(chm=7), "rasters.sources.chm is 7"),
]


@pytest.mark.parametrize("change, message", _TAMPER)
def test_tampered_manifest_fields_are_refused(made, change, message):
    m = _manifest(made)
    assert validate_manifest(m, made["bundle"]) is m  # what geoagb fit writes passes
    change(m)
    with pytest.raises(ValueError) as err:
        validate_manifest(m, made["bundle"])
    msg = str(err.value)
    assert msg.startswith(f"{made['bundle']}: manifest") and msg.endswith(FIX), msg
    assert "\n" not in msg and message in msg, msg


def test_report_refuses_a_tampered_bundle_before_writing(made, tmp_path, capsys):
    b = _bundle(made)
    b.manifest["cv"]["n_splits"] = "<b>5</b>"
    with pytest.raises(ValueError, match=r"cv\.n_splits is '<b>5</b>'"):
        write_report(b, tmp_path / "r.html", echo=lambda s: None)
    assert not (tmp_path / "r.html").exists()
    # a bundle file without feature_names: one line naming the field, not "error: feature_names"
    m = _manifest(made)
    del m["feature_names"]
    bad = tmp_path / "bad.geoagb"
    with zipfile.ZipFile(made["bundle"]) as zi, zipfile.ZipFile(bad, "w") as zo:
        for item in zi.namelist():
            zo.writestr(item, json.dumps(m) if item == "manifest.json" else zi.read(item))
    assert main(["report", str(bad), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"geoagb: error: {bad}: manifest.json lacks field feature_names (a non-empty "
        f"list of non-empty strings without repeats); {FIX}"
    ]


# ---- 4. the map and the regions are checked ------------------------------------------------------
def _raster(path, like, bands, descriptions, *, shift=(0.0, 0.0), tags=None):
    """A raster on the map's grid (moved by ``shift`` metres) with the given band descriptions."""
    with rasterio.open(like) as src:
        profile = src.profile | {"count": bands, "driver": "GTiff"}
        t = src.transform
        profile["transform"] = rasterio.Affine(t.a, t.b, t.c + shift[0], t.d, t.e, t.f + shift[1])
        data = np.repeat(src.read(1)[None], bands, axis=0)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions, 1):
            if d is not None:
                dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
    return path


def test_the_map_must_be_a_geoagb_map_of_the_target(made, tmp_path):
    b = _bundle(made)
    with rasterio.open(made["map"]) as ds:
        assert tuple(ds.bounds) == (500000.0, 2750000.0, 500300.0, 2750300.0)
    assert check_report_inputs(b, made["map"]) is None  # the bundle's own map passes
    stack = _raster(tmp_path / "stack.tif", made["map"], 3, ["blue", "green", "nir"])
    with pytest.raises(ValueError) as err:
        check_report_inputs(b, stack)
    assert (
        f"MAP {str(stack)!r} is not a geoagb map of {TARGET}: its 3 band(s) are described "
        "'blue', 'green', 'nir', while a map made with this bundle has band 1 'agb' (then "
        "agb_std, residual); make it with geoagb map BUNDLE RASTERS OUT."
    ) == str(err.value)
    ndvi = _raster(tmp_path / "ndvi.tif", made["map"], 1, [None])
    with pytest.raises(ValueError, match=r"its 1 band\(s\) are described \(no description\),"):
        check_report_inputs(b, ndvi)
    shap = _raster(
        tmp_path / "shap.tif", made["map"], 1, ["agb"], tags={"geoagb_product": "SHAP values"}
    )
    with pytest.raises(ValueError, match="its geoagb_product tag says 'SHAP values'"):
        check_report_inputs(b, shap)
    other = _raster(
        tmp_path / "xgb.tif",
        made["map"],
        2,
        ["agb", "agb_std"],
        tags={"geoagb_estimator": "XGBRegressor"},
    )
    with pytest.raises(
        ValueError, match="made by a XGBRegressor .* model is a RandomForestRegressor"
    ):
        check_report_inputs(b, other)
    # the same checks run in write_report before any figure, and nothing is written
    with pytest.raises(ValueError, match="is not a geoagb map"):
        write_report(b, tmp_path / "r.html", stack, echo=lambda s: None)
    assert not (tmp_path / "r.html").exists()


def test_the_map_must_cover_the_plots(made, tmp_path):
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    b = _bundle(made)
    far = _raster(tmp_path / "far.tif", made["map"], 2, ["agb", "agb_std"], shift=(100_000.0, 0))
    x, y = b.plots["x"], b.plots["y"]
    assert y.between(2750000, 2750300).all()  # so the nearest plot is the easternmost one
    km = (600_000.0 - x.max()) / 1000  # 99.7 km
    with pytest.raises(ValueError) as err:
        check_report_inputs(b, far)
    assert str(err.value) == (
        f"MAP {str(far)!r} covers none of the bundle's 40 plots (the nearest plot is "
        f"{km:,.1f} km from it): the map spans x 600,000 to 600,300, y 2,750,000 to 2,750,300 in "
        f"{UTM}, the plots x {x.min():,.0f} to {x.max():,.0f}, y {y.min():,.0f} to {y.max():,.0f} "
        f"in {b.manifest['crs_name']}; give the map made from the rasters the model was fitted "
        "on (geoagb map BUNDLE RASTERS OUT), or the bundle fitted on plots of the mapped area."
    )
    # the same map in another CRS covers the plots: accepted
    merc = tmp_path / "merc.tif"
    with rasterio.open(made["map"]) as src:
        t, w, h = calculate_default_transform(
            src.crs, "EPSG:3857", src.width, src.height, *src.bounds
        )
        prof = src.profile | {"crs": "EPSG:3857", "transform": t, "width": w, "height": h}
        with rasterio.open(merc, "w", **prof) as dst:
            dst.descriptions = src.descriptions
            for i in (1, 2):
                reproject(
                    rasterio.band(src, i), rasterio.band(dst, i), resampling=Resampling.nearest
                )
    assert check_report_inputs(b, merc) is None


def test_regions_must_exist_and_overlap_the_map(made, tmp_path, capsys):
    import geopandas as gpd
    from shapely.geometry import box

    b = _bundle(made)
    missing = tmp_path / "nowhere.gpkg"
    with pytest.raises(FileNotFoundError, match=f"regions file {str(missing)!r} does not exist"):
        check_report_inputs(b, made["map"], missing)
    assert main(["report", str(made["bundle"]), str(made["map"]), "--regions", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"regions file {str(missing)!r} does not exist" in err[0]

    with pytest.raises(ValueError, match="regions were given without a map"):
        check_report_inputs(b, None, missing)

    east = gpd.GeoDataFrame(geometry=[box(510000, 2750000, 510300, 2750300)], crs="EPSG:32648")
    east.to_file(tmp_path / "east.gpkg")
    with pytest.raises(ValueError) as err:
        check_report_inputs(b, made["map"], tmp_path / "east.gpkg")
    assert str(err.value) == (
        f"none of the 1 regions overlaps MAP {str(made['map'])!r}: the regions span x 510,000 "
        f"to 510,300, y 2,750,000 to 2,750,300 in {UTM}, the map {MAP_SPAN}; give regions over "
        "the mapped area (or in the right CRS)."
    )
    # ... also as a zone raster
    zones = _raster(tmp_path / "zones.tif", made["map"], 1, ["zone"], shift=(10_000.0, 0))
    with pytest.raises(ValueError, match=r"zone raster .* does not overlap MAP .* x 510,000 to"):
        check_report_inputs(b, made["map"], zones)
    half = _raster(tmp_path / "half.tif", made["map"], 1, ["zone"], shift=(150.0, 0))
    with pytest.warns(UserWarning, match=r"x 500,150 to 500,450, .*\) reaches beyond MAP"):
        check_report_inputs(b, made["map"], half)
    with pytest.raises(ValueError, match=r"zone array has shape \(3, 3\) but MAP .* 10 x 10"):
        check_report_inputs(b, made["map"], np.zeros((3, 3), int))

    # regions in another CRS inside the map: no warning
    inner = gpd.GeoDataFrame(geometry=[box(500010, 2750010, 500290, 2750290)], crs="EPSG:32648")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_report_inputs(b, made["map"], inner.to_crs("EPSG:4326"))

    # one region inside, one half off the map, one wholly off: a warning, stocks of mapped cells
    regions = gpd.GeoDataFrame(
        {"name": ["in", "edge", "far"]},
        geometry=[
            box(500000, 2750000, 500150, 2750300),
            box(500150, 2750000, 500450, 2750300),
            box(510000, 2750000, 510300, 2750300),
        ],
        crs="EPSG:32648",
    )
    with pytest.warns(UserWarning) as rec:
        got = check_report_inputs(b, made["map"], regions, by="name")
    assert got is regions and len(rec) == 1
    assert str(rec[0].message) == (
        f"of the 3 regions, 1 wholly outside it (stock 0: far) and 1 partly outside it (edge) "
        f"of MAP {str(made['map'])!r} ({MAP_SPAN}): their stocks count only the mapped cells."
    )
    stocks, _ = carbon_table(made["map"], regions, "name", 0.47)
    with rasterio.open(made["map"]) as ds:
        agb = ds.read(1).astype(float)
    # 30 m cells (0.09 ha); the edge region holds the cells of columns 5-9 (centres east of
    # 500,150 m), the far one none
    assert stocks.loc["edge", "stock_MgC"] == pytest.approx(np.nansum(agb[:, 5:]) * 0.09 * 0.47)
    assert stocks.loc["far", "stock_MgC"] == 0.0
