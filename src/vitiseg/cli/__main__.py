"""``python -m vitiseg.cli``: the ``vitiseg`` command."""

import sys

from vitiseg.cli import main

if __name__ == "__main__":
    sys.exit(main())
