"""`python -m services.metrics [serve | rebuild]`."""

import sys

from services.metrics.cli import main

if __name__ == "__main__":
    sys.exit(main())
