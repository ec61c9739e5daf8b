"""``python -m vitiseg.cli``: the ``vitiseg`` command."""

import sys

from vitiseg.cli import main

sys.exit(main())
