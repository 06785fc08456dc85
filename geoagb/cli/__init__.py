"""The ``geoagb`` command line.

A mistake in the input (a missing file, a feature the model needs, an unknown demo step, an
output path that cannot be written, a full disk) ends the command with one line,
``geoagb: error: ...``, and exit status 2; ``--debug`` shows the full traceback instead. A number
out of range in a flag (``--n-estimators 0``) is refused by the argument parser before any work,
also with exit status 2. Any other exception is a bug: one line says so and its traceback
follows (exit status 1). Ctrl-C exits with 130 and SIGTERM with 143, both after removing the
part file of an output being written.

Each subcommand is a door to library functions, which it imports by their public names; the
library never imports the command line. Library errors name their own parameters
(``n_splits=5``); the command line says them in flags (``--folds 5``).

==================  ===============================================================================
Module              What it holds
==================  ===============================================================================
``_main``           :func:`build_parser` and :func:`main` (also ``python -m geoagb.cli``)
``_fit``            ``geoagb fit`` -> :func:`geoagb.workflow.fit_bundle`; its parameter -> flag table
``_map``            ``geoagb map`` -> :func:`geoagb.mapping.predict_raster` or ``Bundle.predict_map``
``_report``         ``geoagb report`` -> :func:`geoagb.workflow.write_report`
``_timeseries``     ``geoagb timeseries {synthetic,scale,vod,belowground,trend,totals}`` ->
                    :mod:`geoagb.timeseries`
``_demo``           ``geoagb demo`` and ``geoagb compile``
``_args``           argparse ``type=`` checks: numbers refused before any work
``_errors``         one line per user error; library parameter names -> flags
``_common``         progress bars, printed lines, ``--trust``, ``--debug``
==================  ===============================================================================
"""

from ._main import build_parser, main

__all__ = ["main", "build_parser"]
