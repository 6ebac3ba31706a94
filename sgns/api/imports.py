"""`imported_whole`: the API's imports of torch and Beam, which its first call makes (seconds),
done with Ctrl-C held, so that an interrupt never leaves them half-imported.

Python drops a module whose import a KeyboardInterrupt cut short, but not the parts of it
already imported: torch and Beam cannot be imported again over them ("partially initialized
module 'torch'", ops registered twice, even a segfault), so every later call of the process
failed. Held, SIGINT and SIGTERM are taken once the import has finished: the call still ends
in its KeyboardInterrupt (as docs/python.md says), and the next call finds the modules whole.
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
