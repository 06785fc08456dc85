"""Shared fixtures of the timeseries tests: one small synthetic series with its truth."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def series_truth():
    from geoagb.timeseries import make_carbon_series

    return make_carbon_series(shape=(48, 48), random_state=0, return_truth=True)
