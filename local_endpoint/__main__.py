"""``python -m local_endpoint serve ...``: see :mod:`local_endpoint.cli`."""

import sys

from local_endpoint.cli import main

sys.exit(main())
