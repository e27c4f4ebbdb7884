"""``python -m sibp_ref`` is the ``sibp-ref`` command."""

import sys

from .run.cli import main

sys.exit(main())
