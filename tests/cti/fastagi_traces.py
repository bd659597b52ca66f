"""Load the recorded FastAGI traces and replay their Asterisk side over TCP.

A ``fastagi-<name>.txt`` transcript is a header of ``#`` lines, then blocks
``#### +<seconds> <ASTERISK->SCRIPT|SCRIPT->ASTERISK> <N> bytes`` + newline +
exactly N raw bytes + newline.  :func:`replay` sends every Asterisk block in
transcript order, waiting for the script's bytes in between, so the server
under test sees the exact bytes in the exact interleaving of the recording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastagi_peer import DEFAULT_TIMEOUT, AgiPeer

__all__ = ["TRACES_DIR", "AgiTrace", "TraceBlock", "load_trace", "replay"]

TRACES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "asterisk"

FROM_ASTERISK = "ASTERISK->SCRIPT"
FROM_SCRIPT = "SCRIPT->ASTERISK"
_HEADER = re.compile(rb"^#### \+[0-9.]+ (ASTERISK->SCRIPT|SCRIPT->ASTERISK) (\d+) bytes\n", re.MULTILINE)


@dataclass(frozen=True)
class TraceBlock:
    direction: str
    data: bytes


@dataclass(frozen=True)
class AgiTrace:
    name: str
    blocks: tuple[TraceBlock, ...]
    asterisk_raw: bytes
    """Contents of ``<name>.asterisk-to-script.raw``."""
    script_raw: bytes
    """Contents of ``<name>.script-to-asterisk.raw``."""

    def sent_by(self, direction: str) -> bytes:
        return b"".join(block.data for block in self.blocks if block.direction == direction)


def load_trace(name: str) -> AgiTrace:
    """Parse ``fastagi-<name>.txt`` and read both ``.raw`` files."""
    base = TRACES_DIR / f"fastagi-{name}"
    text = base.with_name(base.name + ".txt").read_bytes()
    blocks: list[TraceBlock] = []
    first = _HEADER.search(text)
    if first is None:
        raise ValueError(f"{name}: no transcript blocks")
    pos = first.start()
    while pos < len(text):
        match = _HEADER.match(text, pos)
        if match is None:
            raise ValueError(f"{name}: bad block header at byte {pos}: {text[pos : pos + 60]!r}")
        start = match.end()
        end = start + int(match.group(2))
        if text[end : end + 1] != b"\n":
            raise ValueError(f"{name}: block at byte {pos} is not followed by a newline")
        blocks.append(TraceBlock(match.group(1).decode(), text[start:end]))
        pos = end + 1
    return AgiTrace(
        name=name,
        blocks=tuple(blocks),
        asterisk_raw=base.with_name(base.name + ".asterisk-to-script.raw").read_bytes(),
        script_raw=base.with_name(base.name + ".script-to-asterisk.raw").read_bytes(),
    )


async def replay(port: int, trace: AgiTrace, io_timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Play Asterisk's side of *trace* against the server on *port*.

    For each script block, reads as many bytes as the recording has before
    sending the next Asterisk block.  Returns every byte the server sent,
    including anything after the last recorded block up to its close.
    """
    received = bytearray()
    async with await AgiPeer.connect(port, io_timeout=io_timeout) as peer:
        for block in trace.blocks:
            if block.direction == FROM_ASTERISK:
                await peer.send(block.data)
            else:
                received += await peer.read_exactly(len(block.data))
        received += await peer.read_to_eof()
    return bytes(received)
