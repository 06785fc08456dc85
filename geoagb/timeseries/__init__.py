"""Carbon through time: annual AGBC/BGBC maps, per-pixel trends and regional sinks.

The workflow of a national 1 km forest-carbon series (2002-2021):

1. :func:`scale_by_cover` extends a benchmark AGBC map to every year with tree and
   short-vegetation cover fractions (forest-fraction scaling), window by window;
2. :func:`calibrate_vod` recalibrates the series inside regions with VOD (linear regression or
   quantile mapping, chosen by cross-validated RMSE) and reports before/after agreement;
3. :class:`BelowgroundModel` maps BGBC from AGBC and covariates (random forest trained on
   BGB-AGB records, root:shoot ratio fallback); :func:`evaluate_belowground` gives its spatial-CV
   R2 and RMSE;
4. :func:`trend_map` computes the Theil-Sen slope, Mann-Kendall test (ties and Hamed-Rao
   corrections) and Pettitt change point of every pixel in row chunks (compiled kernels; the
   single-series :func:`mann_kendall`, :func:`sens_slope` and :func:`pettitt` match
   ``pymannkendall``; NaN and +-inf are missing years; when no pixel has enough of them,
   :class:`UntestedWarning` says why);
5. :func:`annual_totals` and :func:`carbon_sink_trend` give the stock per region and year (TgC)
   with uncertainty, and the sink as the slope of the totals (TgC/yr) with its interval;
6. :func:`plot_region_series` and :func:`plot_trend_map` draw them.

:func:`make_carbon_series` is the default data: a synthetic stack with planted gains, losses, a
disturbance and stable land, and its truth.

References
----------
Feng, X. (data contributor). Maps with 1 km resolution reveal increases in above- and
belowground forest biomass carbon pools in China over the past 20 years (dataset, 2002-2021).
National Cryosphere Desert Data Center, CSTR 11738.11.NCDC.FIGSHARE.DB6534.2024.
"""

from ._belowground import BelowgroundEvaluation, BelowgroundModel, evaluate_belowground
from ._plot import plot_region_series, plot_trend_map
from ._scaling import CoverScaling, scale_by_cover
from ._stack import (
    StackSource,
    align_years,
    companion,
    read_stack,
    stack_years,
    write_stack,
    year_span,
)
from ._synthetic import REGION_NAMES, CarbonSeries, CarbonSeriesTruth, make_carbon_series
from ._totals import annual_totals, carbon_sink_trend
from ._trend import UntestedWarning, mann_kendall, pettitt, sens_slope
from ._trendmap import TREND_BANDS, TrendResult, trend_map, trend_recovery
from ._vod import LinearMapping, QuantileMapping, VODCalibration, calibrate_vod

__all__ = [
    "make_carbon_series",
    "CarbonSeries",
    "CarbonSeriesTruth",
    "REGION_NAMES",
    "scale_by_cover",
    "CoverScaling",
    "calibrate_vod",
    "VODCalibration",
    "LinearMapping",
    "QuantileMapping",
    "BelowgroundModel",
    "evaluate_belowground",
    "BelowgroundEvaluation",
    "mann_kendall",
    "sens_slope",
    "pettitt",
    "UntestedWarning",
    "trend_map",
    "TrendResult",
    "TREND_BANDS",
    "trend_recovery",
    "annual_totals",
    "carbon_sink_trend",
    "plot_region_series",
    "plot_trend_map",
    "write_stack",
    "read_stack",
    "stack_years",
    "StackSource",
    "align_years",
    "companion",
    "year_span",
]
