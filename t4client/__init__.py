"""T4 agent/CI toolkit: policy client, validator, annotation migration and report upload.

This package runs inside the governed repository's CI and inside agents, so it imports nothing
from Django or from the rest of the T4 platform; it talks to the server over HTTP only.
"""

from __future__ import annotations

__version__ = "2.1.0"

__all__ = ["__version__"]
