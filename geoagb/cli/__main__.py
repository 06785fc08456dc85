"""``python -m geoagb.cli``: the ``geoagb`` command."""

import sys

from ._main import main

sys.exit(main())
