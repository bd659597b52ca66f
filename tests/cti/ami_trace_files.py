"""Access to the recorded Asterisk traces in ``tests/fixtures/asterisk``.

A transcript (``*.transcript.txt``) is a header of ``#`` lines followed by
blocks ``#### +<seconds> <C->S|S->C> <N> bytes`` + newline + exactly N raw bytes
+ newline.  The helpers here read it byte-exactly, so the tracker can be fed
each message with the time it was received.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from cti.ami.message import AmiMessage, AmiParser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRACES = FIXTURES / "asterisk"
CACOFONISK = FIXTURES / "peers" / "cacofonisk" / "tests" / "fixtures"

_BLOCK = re.compile(rb"#### \+(\d+(?:\.\d+)?) (C->S|S->C) (\d+) bytes\n")

# Trace scenario letter -> file stem (without the direction suffix).
SCENARIOS = {
    "a": "ami-a-login-coresettings-queuestatus-logoff",
    "b": "ami-b-inbound-call-ivr-queue-answer",
    "b2": "ami-b2-inbound-call-filtered",
    "c": "ami-c-queue-caller-abandon",
    "d": "ami-d-dynamic-member-add-pause-remove",
    "e1": "ami-e1-bad-login",
    "e2": "ami-e2-bad-actions",
    "g": "ami-g-caller-hangup-during-ivr",
}


@dataclass(frozen=True)
class Block:
    seconds: float
    direction: str  # "C->S" or "S->C"
    data: bytes


def transcript(name: str) -> list[Block]:
    """The blocks of ``<name>.transcript.txt`` in time order."""
    raw = (TRACES / f"{name}.transcript.txt").read_bytes()
    blocks: list[Block] = []
    pos = 0
    while raw.startswith(b"#", pos) and not _BLOCK.match(raw, pos):  # the header lines
        pos = raw.index(b"\n", pos) + 1
    while pos < len(raw):
        match = _BLOCK.match(raw, pos)
        if match is None:
            raise ValueError(f"{name}: malformed block header at byte {pos}")
        size = int(match.group(3))
        start = match.end()
        blocks.append(Block(float(match.group(1)), match.group(2).decode(), raw[start : start + size]))
        pos = start + size + 1  # the newline after the raw bytes
    return blocks


def timed_server_messages(name: str, start: float = 1_000_000.0) -> list[tuple[float, AmiMessage]]:
    """Every server-to-client message with its receive time ``start + seconds``."""
    parser = AmiParser(expect_banner=True)
    out: list[tuple[float, AmiMessage]] = []
    for block in transcript(name):
        if block.direction == "S->C":
            out.extend((start + block.seconds, msg) for msg in parser.feed(block.data))
    return out


def client_blocks(name: str) -> list[bytes]:
    """The client-to-server blocks (one action each in these recordings)."""
    return [b.data for b in transcript(name) if b.direction == "C->S"]


def fixture_events(path: Path) -> list[AmiMessage]:
    """A cacofonisk fixture (JSON list of event dicts) as AMI messages."""
    events = json.loads(path.read_text(encoding="utf-8"))
    return [AmiMessage([(k, str(v)) for k, v in e.items() if k != "content"]) for e in events]
