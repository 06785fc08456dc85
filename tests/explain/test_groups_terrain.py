"""feature_groups("auto") recognises elevation in any case and its usual short names."""

from geoagb.explain import feature_groups


def test_elevation_names_are_terrain_in_any_case():
    names = ["ELEV", "elev", "Elevation", "DEM", "dtm", "altitude", "Elev_30m", "SRTM"]
    assert feature_groups(names) == dict.fromkeys(names, "terrain")
    assert feature_groups(["NDVI", "Slope", "elevator"]) == {
        "NDVI": "spectral",
        "Slope": "terrain",
        "elevator": "other",
    }
