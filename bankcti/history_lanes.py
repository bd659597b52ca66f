"""Which writer lane a history write takes, and the lanes' spool files.

On PostgreSQL the history runs several group commits side by side (lanes),
so that one lane's batch is built in Python while another's statements run
in the database.  A call's writes must stay in order, so every write of a
call takes the same lane: the lane is a stable hash of the call id
(CRC-32, the same in every process and every run, unlike :func:`hash`).
Lanes touch disjoint interaction rows; the one shared row kind, customers'
``last_follow_up_at``, is updated last in each batch in id order, so two
lanes never deadlock.

Each lane has its own spool file.  Lane 0's is the file a single writer
used before lanes existed, so a spool left by such a run (or by a run with
fewer lanes) holds other lanes' writes: :func:`split_spool` moves them to
their lanes' files before any lane starts, so each call's spooled writes
are replayed by the lane that will take its next ones, in their order.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crm_core.schemas import CallEndRecord, InteractionRecord, LegRecord
from crm_core.spool import Entry, FileSpool

__all__ = ["entry_call_id", "lane_of", "lane_spool_path", "lanes_for", "split_spool"]

_BODY = {"upsert": "record", "leg": "leg", "end": "end"}  # where each kind of write keeps its record


def lanes_for(dialect: str) -> int:
    """The lanes the history runs on a database of ``dialect``.

    Four on PostgreSQL: ``bankcti bench history`` at 200 calls in flight on
    a 2-core machine gave 787 interactions/s with one lane and 1 145 with
    four (8 were slower: more, smaller batches).  One on SQLite, which takes
    one writer at a time.
    """
    return 4 if dialect == "postgresql" else 1


def lane_of(call_id: str, lanes: int) -> int:
    """The lane (0 … ``lanes`` − 1) every write of ``call_id`` takes."""
    return zlib.crc32(call_id.encode("utf-8", "surrogatepass")) % lanes if lanes > 1 else 0


def lane_spool_path(path: Path, lane: int) -> Path:
    """Lane ``lane``'s spool file: ``path`` itself for lane 0, ``<stem>.lane<N><suffix>`` beside it."""
    return path if lane == 0 else path.with_name(f"{path.stem}.lane{lane}{path.suffix}")


def entry_call_id(entry: Any) -> str | None:
    """The call id a history write names (a queued record or its JSON form); ``None`` if it names none."""
    if not isinstance(entry, Mapping):
        return None
    kind = entry.get("kind")
    # A note spooled by an earlier version carries its call id at the top.
    body = entry.get(_BODY[kind]) if kind in _BODY else entry
    if isinstance(body, InteractionRecord | LegRecord | CallEndRecord):
        return body.call_id
    call_id = body.get("call_id") if isinstance(body, Mapping) else None
    return call_id if isinstance(call_id, str) else None


def split_spool(path: Path, lanes: int) -> int:
    """Move the writes of lane 0's spool that belong to other lanes to those lanes' spools; return how many.

    Blocking (call it from a worker thread).  Each lane's file is rewritten
    (``fsync``-ed, atomically replaced) with its own writes followed by the
    moved ones not already there, then lane 0's file keeps only its own.  A
    crash in between leaves the moved writes in both files: the next split
    finds them already in their lane and only rewrites lane 0's.  A write
    naming no call (malformed) stays in lane 0, refused there by itself.
    """
    if lanes <= 1:
        return 0
    first = FileSpool(path)
    entries = first.read()
    own: list[Entry] = []
    moved: dict[int, list[Entry]] = {}
    for entry in entries:
        call_id = entry_call_id(entry)
        lane = lane_of(call_id, lanes) if call_id is not None else 0
        (own if lane == 0 else moved.setdefault(lane, [])).append(entry)
    if not moved:
        return 0
    for lane, writes in sorted(moved.items()):
        spool = FileSpool(lane_spool_path(path, lane))
        present = spool.read()
        seen = {_canonical(w) for w in present}
        spool.replace(present + [w for w in writes if _canonical(w) not in seen])
    first.replace(own)
    return sum(len(writes) for writes in moved.values())


def _canonical(entry: Entry) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str)
