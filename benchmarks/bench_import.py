"""Import cost of geoagb's modules against their floor: scikit-learn's own ``sklearn.base``.

Each import runs in a fresh interpreter with ``python -X importtime``; the total of the
top-level entries is printed, best of ``--repeat`` runs, with the ratio to the floor (every
geoagb estimator subclasses ``sklearn.base.BaseEstimator``, so no estimator module can import
faster than it).

    python benchmarks/bench_import.py --repeat 3
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

MODULES = [
    "sklearn.base",
    "geoagb",
    "geoagb.model_selection",
    "geoagb.kriging",
    "geoagb.mapping",
    "geoagb.explain",
    "geoagb.timeseries",
    "geoagb.applicability",
]


#: First use of a lazily loaded package: the import a user's script actually pays.
FIRST_USE = {
    "geoagb.kriging": "from geoagb.kriging import OrdinaryKriging",
}


def import_seconds(module: str, statement: str | None = None) -> float:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement or f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    total = 0
    for line in out.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)\S", line)
        if m and len(m.group(2)) == 1:  # top-level entries only
            total += int(m.group(1))
    return total / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    floor = min(import_seconds("sklearn.base") for _ in range(args.repeat))
    print(f"{'module':28s} {'import s':>9s} {'x sklearn.base':>15s}")
    for mod in MODULES:
        t = min(import_seconds(mod) for _ in range(args.repeat))
        print(f"{mod:28s} {t:9.2f} {t / floor:15.2f}")
        if mod in FIRST_USE:
            stmt = FIRST_USE[mod]
            t = min(import_seconds(mod, stmt) for _ in range(args.repeat))
            print(
                f"{'  ' + stmt.split(' import ')[1] + ' (first use)':28s} {t:9.2f} {t / floor:15.2f}"
            )


if __name__ == "__main__":
    main()
