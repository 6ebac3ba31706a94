"""torchrun's environment, read and checked in one place: `ranks()`.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE for each process it starts; without them a command
is one process (rank 0 of 1). A value set by hand or left over in a shell (`WORLD_SIZE=`,
`RANK=two`, a RANK past WORLD_SIZE) is said in one line naming the variable, before anything
runs: int() of it was a traceback, and a RANK of 1 alone silenced every error of the command.
Several processes also need MASTER_ADDR and MASTER_PORT (where they meet), which torchrun sets
too: `check_meeting_point`, where the trainer starts its process group (a WORLD_SIZE left over
without them was torch's traceback there); what it finds is a GroupStartError, said by every rank.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sgns.errors import UsageError

_WHOLE = re.compile(r"\s*[0-9]+\s*")
_FIX = "torchrun sets it for each process it starts: unset it, or start the command with torchrun"
_FIX_GROUP = "torchrun sets both: unset WORLD_SIZE and RANK, or start the command with torchrun"


@dataclass(frozen=True)
class Ranks:
    rank: int  # this process's, 0 .. world_size - 1
    local_rank: int  # on its node: which GPU it takes
    world_size: int  # processes in all

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def alone(self) -> bool:
        return self.world_size == 1


def _whole(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None:
        return default
    if not _WHOLE.fullmatch(text):
        raise UsageError(f"{name}={text!r} in the environment is no whole number ({_FIX})")
    return int(text)


def ranks() -> Ranks:
    """This process's place among torchrun's: RANK, LOCAL_RANK, WORLD_SIZE from the environment
    (0, 0, 1 when unset); a UsageError naming the variable when one is no whole number or they
    disagree (WORLD_SIZE 0, a RANK not below WORLD_SIZE)."""
    world_size = _whole("WORLD_SIZE", 1)
    rank, local_rank = _whole("RANK", 0), _whole("LOCAL_RANK", 0)
    if world_size < 1:
        raise UsageError(f"WORLD_SIZE={world_size} in the environment: a run has at least one "
                         f"process ({_FIX})")  # fmt: skip
    if rank >= world_size:
        size = f"={world_size}" if "WORLD_SIZE" in os.environ else " (unset: 1)"
        raise UsageError(f"RANK={rank} in the environment is not below WORLD_SIZE{size} ({_FIX})")
    return Ranks(rank, local_rank, world_size)


class GroupStartError(UsageError):
    """A rank that could not meet the others, or whose environment is wrong before they meet:
    every rank says it itself (other errors only rank 0 says). No rank 0 may speak for it: a
    rank of a node that cannot reach MASTER_ADDR is the only one that knows, and WORLD_SIZE and
    RANK without MASTER_ADDR (a batch script's, set on every node) mean no torchrun started
    the ranks, so each is alone."""


def check_meeting_point(world_size: int) -> None:
    """MASTER_ADDR set and MASTER_PORT a port, as several processes need them to meet (checked
    where a process group starts: a command of one process never reads them); else a
    GroupStartError, which every rank says."""
    address, port = os.environ.get("MASTER_ADDR"), os.environ.get("MASTER_PORT")
    for name, value in (("MASTER_ADDR", address), ("MASTER_PORT", port)):
        if value is None or not value.strip():
            said = "is not set" if value is None else f"is {value!r}"
            raise GroupStartError(f"WORLD_SIZE={world_size} in the environment but {name} "
                                  f"{said} ({_FIX_GROUP})")  # fmt: skip
    if not _WHOLE.fullmatch(port) or not 1 <= int(port) <= 65535:
        raise GroupStartError(f"MASTER_PORT={port!r} in the environment is no port (a whole "
                              f"number 1-65535; {_FIX_GROUP})")  # fmt: skip
