"""`python -m services.registry [serve | keys … | confirmation-token …]`."""

import sys

from services.registry.cli import main

if __name__ == "__main__":
    sys.exit(main())
