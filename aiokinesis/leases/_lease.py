"""The lease: one row of the lease table, laid out as the KCL lays it out.

A lease says who reads a shard (`owner`), how far its records are processed (`checkpoint`), and
carries the fencing token (`counter`): every renew, take, release and checkpoint moves the
counter on by one, and is written only if the counter is still the one its writer last saw. A
worker that lost a lease therefore cannot write to it, however late it wakes.
"""

from __future__ import annotations

from dataclasses import dataclass

TRIM_HORIZON = "TRIM_HORIZON"
"""Checkpoint of a lease nobody has processed, to be read from the shard's oldest record."""
LATEST = "LATEST"
"""Checkpoint of a lease nobody has processed, to be read from records put after it starts."""
AT_TIMESTAMP = "AT_TIMESTAMP"
"""Checkpoint of a lease nobody has processed, to be read from an instant (configuration, not stored)."""
SHARD_END = "SHARD_END"
"""Checkpoint of a lease whose shard was read to its end and every record of it processed."""

SENTINELS = (AT_TIMESTAMP, TRIM_HORIZON, LATEST, SHARD_END)
_RANK = {AT_TIMESTAMP: 0, TRIM_HORIZON: 1, LATEST: 2, SHARD_END: 4}
_SEQUENCE_RANK = 3


def is_sequence_number(checkpoint: str) -> bool:
    """Whether a checkpoint is a record's sequence number (decimal digits) rather than a sentinel."""
    return checkpoint.isascii() and checkpoint.isdigit()


def checkpoint_order(checkpoint: str, sub_sequence_number: int = 0) -> tuple[int, int, int]:
    """A sortable key: AT_TIMESTAMP < TRIM_HORIZON < LATEST < any sequence number < SHARD_END.

    Sequence numbers compare as numbers (they are decimal strings of different lengths), then by
    sub-sequence, the user record's place inside a KPL aggregate.
    """
    rank = _RANK.get(checkpoint)
    if rank is not None:
        return rank, 0, 0
    return _SEQUENCE_RANK, int(checkpoint), sub_sequence_number


def names_a_shard(key: str) -> bool:
    """Whether a lease key is a shard id: a table may hold other rows, which are never taken or deleted."""
    return key.startswith("shardId-")


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """One shard's lease, as a store last answered it; a write returns the lease it left."""

    key: str
    """`leaseKey`: the shard id."""
    owner: str | None = None
    """`leaseOwner`: the worker holding the lease; None when it is free."""
    counter: int = 0
    """`leaseCounter`: the fencing token, one up on every renew, take, release and checkpoint."""
    checkpoint: str = TRIM_HORIZON
    """`checkpoint`: the last processed record's sequence number, or one of the sentinels."""
    sub_sequence_number: int = 0
    """`checkpointSubSequenceNumber`: within a KPL aggregate, the last processed user record."""
    owner_switches: int = 0
    """`ownerSwitchesSinceCheckpoint`: takes since the last checkpoint (a lease that moves a lot)."""
    parents: tuple[str, ...] = ()
    """`parentShardId`: the shards this one continues (two after a merge), sorted."""
    children: tuple[str, ...] = ()
    """`childShardIds`: written at the shard's end, the shards that continue it, sorted."""
    hash_range: tuple[int, int] | None = None
    """`startingHashKey`, `endingHashKey`: the shard's first and last hash key."""

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not self.key:
            raise ValueError(f"Lease.key must be a non-empty string, not {self.key!r}")
        if self.owner is not None and (not isinstance(self.owner, str) or not self.owner):
            raise ValueError(f"Lease.owner must be None or a non-empty string, not {self.owner!r}")
        for field in ("counter", "sub_sequence_number", "owner_switches"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Lease.{field} must be an int >= 0, not {value!r}")
        if not isinstance(self.checkpoint, str) or not (
            self.checkpoint in _RANK or is_sequence_number(self.checkpoint)
        ):
            allowed = ", ".join(SENTINELS)
            raise ValueError(f"Lease.checkpoint must be a sequence number or one of {allowed}, not {self.checkpoint!r}")
        object.__setattr__(self, "parents", tuple(sorted(self.parents)))
        object.__setattr__(self, "children", tuple(sorted(self.children)))

    @property
    def ended(self) -> bool:
        """The shard was read to its end and processed: its children may be read."""
        return self.checkpoint == SHARD_END

    @property
    def position(self) -> tuple[int, int, int]:
        """The checkpoint as a sortable key (see `checkpoint_order`)."""
        return checkpoint_order(self.checkpoint, self.sub_sequence_number)
