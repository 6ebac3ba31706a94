"""`imported_whole`: the Python API's own imports, which its first use makes (numpy, then torch
or Beam: seconds), done with Ctrl-C held, so that an interrupt never leaves them half-imported.

Python drops a module whose import a KeyboardInterrupt cut short, but not the parts of it
already imported: numpy, torch and Beam cannot be imported again over them ("cannot load module
more than once per process", "partially initialized module 'torch'", ops registered twice, even
a segfault), so every later call of the process failed. Held, SIGINT and SIGTERM are taken once
the import has finished: the call still ends in its KeyboardInterrupt (as docs/python.md says),
and the next call finds the modules whole. Every lazy import on the way into the API holds them:
`sgns.__getattr__` (sgns.fit, sgns.load, sgns.Vectors ...), the call of `sgns.train`, and the
imports of torch and Beam inside sgns.api's calls. This module imports only the standard library
and sgns.files (which imports no numpy), so that it is itself safe to import unheld.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sgns.files import SignalsHeld


@contextlib.contextmanager
def imported_whole() -> Iterator[None]:
    """The block's imports made with SIGINT and SIGTERM held (in the main thread, the only one
    signals reach; elsewhere the block runs as it is); a signal received meanwhile is taken
    when the block ends (Ctrl-C: a KeyboardInterrupt there).

        with imported_whole():
            from sgns.train.trainer import train
    """
    with SignalsHeld() as held:
        held.hold()
        yield
