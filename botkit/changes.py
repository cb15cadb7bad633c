"""What one bookkeeping transaction writes: handled records, pending events, dead letters.

Handlers finish one by one; :class:`Changes` collects what became of each event
until the pipeline writes it, together with the sync token, in one transaction
(see :meth:`botkit.state.StateStore.commit`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Changes", "DeadLetter", "PendingRow"]


@dataclass(slots=True)
class PendingRow:
    """An event one instance has yet to handle, as stored (``event`` is its JSON)."""

    instance: str
    event_id: str
    room_id: str
    seq: int
    event: str
    attempts: int
    error: str
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An event an instance failed on too often, parked until ``botkit replay``."""

    instance: str
    event_id: str
    room_id: str
    event: str
    attempts: int
    error: str
    failed_at: int = 0


Key = tuple[str, str]


@dataclass(slots=True)
class Changes:
    """What the next bookkeeping transaction writes, collected as handlers finish.

    For each (instance, event) only the latest news counts: an event that became
    pending and was then handled before a write leaves a handled record and no
    pending row.
    """

    handled: list[Key] = field(default_factory=list)
    pending: dict[Key, PendingRow] = field(default_factory=dict)
    resolved: set[Key] = field(default_factory=set)
    dead: dict[Key, DeadLetter] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.handled or self.pending or self.resolved or self.dead)

    def __len__(self) -> int:
        return len(self.handled) + len(self.pending) + len(self.resolved) + len(self.dead)

    def keep(self, row: PendingRow) -> None:
        """Store ``row`` as pending (new, or with a new attempt count)."""
        key = (row.instance, row.event_id)
        self.resolved.discard(key)
        self.pending[key] = row

    def done(self, instance: str, event_id: str, *, handled: bool = True) -> None:
        """The pending event is no longer pending; with ``handled``, record it as handled."""
        key = (instance, event_id)
        self.pending.pop(key, None)
        self.resolved.add(key)
        if handled:
            self.handled.append(key)

    def park(self, letter: DeadLetter) -> None:
        """Move the pending event to the dead letters."""
        self.done(letter.instance, letter.event_id, handled=False)
        self.dead[(letter.instance, letter.event_id)] = letter

    def take(self) -> Changes:
        """Everything collected so far; this object starts empty again."""
        taken = Changes(self.handled, self.pending, self.resolved, self.dead)
        self.handled, self.pending, self.resolved, self.dead = [], {}, set(), {}
        return taken

    def restore(self, older: Changes) -> None:
        """Put back what :meth:`take` gave when it could not be written; newer news wins."""
        newer = self.pending.keys() | self.resolved
        self.handled[:0] = older.handled
        self.pending = {k: v for k, v in older.pending.items() if k not in newer} | self.pending
        self.resolved |= {k for k in older.resolved if k not in self.pending}
        self.dead = {k: v for k, v in older.dead.items() if k not in self.dead} | self.dead
