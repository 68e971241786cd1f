"""``python -m funcgrad.cli``: the ``funcgrad`` command."""

import sys

from funcgrad.cli import main

sys.exit(main())
