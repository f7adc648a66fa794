"""``python -m t4client <command>``."""

from __future__ import annotations

import sys

from t4client.cli import main

if __name__ == "__main__":
    sys.exit(main())
