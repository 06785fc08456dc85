"""``geoagb report BUNDLE [MAP]``: :func:`geoagb.workflow.write_report` from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._io import check_output_path
from ..workflow import load_bundle, write_report
from ._args import fraction
from ._common import echo, trust

__all__ = ["add_report_command"]


def _run_report(args) -> int:
    out = args.out or str(Path(args.bundle).with_name(Path(args.bundle).stem + "_report.html"))
    check_output_path(out, "--out")
    bundle = load_bundle(args.bundle, trusted=trust(args))
    write_report(
        bundle,
        out,
        args.map,
        regions=args.regions,
        by=args.by,
        carbon_fraction=args.carbon_fraction,
        echo=echo,
    )
    return 0


def add_report_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb report BUNDLE [MAP]`` to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "report",
        help="one self-contained HTML report of a model bundle (and its map)",
        description="Write one HTML file (figures embedded, opens offline): data and QC, block "
        "size and its sensitivity, spatial vs random CV, predicted vs observed, "
        "residual variogram, SHAP summary and dependence, and with MAP the map "
        "quick-look and carbon stock per region.",
    )
    p.add_argument("bundle", help="model bundle (.geoagb) written by geoagb fit")
    p.add_argument("map", nargs="?", default=None, help="map written by geoagb map (optional)")
    p.add_argument("--out", default=None, help="HTML file (default: <bundle>_report.html)")
    p.add_argument(
        "--regions",
        default=None,
        metavar="FILE",
        help="regions for the carbon stock: polygons (vector file) or a zone raster",
    )
    p.add_argument("--by", default=None, metavar="COL", help="region name column of --regions")
    p.add_argument(
        "--carbon-fraction",
        type=fraction,
        default=None,
        help="carbon fraction of biomass (default: 0.47; 1 for a carbon target)",
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="accept every type in the bundle's model (it can run code: only bundles you made "
        "or whose source you trust)",
    )
    p.set_defaults(func=_run_report)
    return p
