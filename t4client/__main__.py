"""``python -m t4client``.

For ``check``, ruff is started before anything else is imported (see ``t4client._launch``):
ruff is most of the run, and Python's imports and the file reading then happen meanwhile.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["check"]:
        from t4client import _launch

        _launch.prestart(sys.argv[2:])

        import gc

        # check allocates some 100,000 small objects (findings, annotations, report entries)
        # and keeps them until it exits; they form no cycles (a run leaves a few hundred
        # unreachable objects behind). The cyclic collector's passes over them found nothing
        # and cost 10-15 ms on the benchmark, so this short-lived process goes without.
        gc.disable()

    from t4client.cli import main

    rc = main()
    # The report is printed; what is left is freeing a few hundred thousand objects one by
    # one and tearing the interpreter down, which the operating system does at once. Flush
    # what we wrote, then leave (no atexit handlers are registered by this package).
    sys.stdout.flush()
    sys.stderr.flush()
    import os

    os._exit(rc)
