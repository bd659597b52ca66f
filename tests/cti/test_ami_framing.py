"""The AMI parser's memory cap: endless lines and messages are refused, the link is cut, the client returns.

A peer that never ends a line (or a message) used to be held whole: the
parser moved an over-limit line into the message being assembled without
counting it.  Now the line still open counts towards the message's limit,
the parser raises :class:`AmiFramingError` and drops what it held, and the
client aborts the connection with a logged reason and reconnects.
"""

from __future__ import annotations

import asyncio
import logging
import tracemalloc

import pytest
from ami_fake_server import FakeAmi, FakeSession
from test_ami_reconnect import ConnectionLog, RecordWaiter, make_client

from cti.ami.message import AmiFramingError, AmiMessage, AmiParser

MIB = 1 << 20
CHUNK = 64 * 1024


def test_an_endless_line_is_refused_once_it_reaches_the_cap() -> None:
    parser = AmiParser(max_message_bytes=MIB)
    held = []
    with pytest.raises(AmiFramingError) as caught:
        for _ in range(8 * MIB // CHUNK):  # 8 MiB without a line break
            parser.feed(b"x" * CHUNK)
            held.append(parser.buffered)
    assert caught.value.what == "line" and caught.value.limit == MIB
    assert max(held) <= MIB  # never more than the cap, whatever the peer sends
    assert len(held) == MIB // CHUNK  # refused at the first read past the cap
    assert parser.buffered == 0  # and what it held is let go at once


def test_a_message_that_never_ends_is_refused() -> None:
    parser = AmiParser(max_message_bytes=MIB)
    line = b"Output: " + b"y" * 1000 + b"\r\n"
    with pytest.raises(AmiFramingError) as caught:
        for _ in range(2 * MIB // len(line)):
            parser.feed(line)
            assert parser.buffered <= MIB
    assert caught.value.what == "message" and caught.value.unit == "characters"
    assert parser.buffered == 0


def test_the_open_line_counts_towards_the_message() -> None:
    parser = AmiParser(max_message_bytes=1000)
    assert parser.feed(b"Event: Big\r\nData: " + b"z" * 500) == []
    with pytest.raises(AmiFramingError) as caught:
        parser.feed(b"z" * 490)  # 10 + 6 + 990 characters: past the cap with the line still open
    assert caught.value.what == "message"


def test_too_many_lines_are_refused() -> None:
    parser = AmiParser(max_fields=100)
    with pytest.raises(AmiFramingError) as caught:
        parser.feed(b"Event: Many\r\n" + b"A: b\r\n" * 100)
    assert (caught.value.what, caught.value.unit, caught.value.limit) == ("message", "lines", 100)


def test_messages_before_the_violation_are_delivered_and_a_big_one_within_the_cap_passes() -> None:
    parser = AmiParser(max_message_bytes=4096)
    big = AmiMessage.of(("Event", "Big"), ("Data", "d" * 4000)).encode()
    assert [m["Data"] for m in parser.feed(big)] == ["d" * 4000]
    delivered = []
    with pytest.raises(AmiFramingError):
        for message in parser.iter_feed(b"Event: Before\r\n\r\n" + b"x" * 5000):
            delivered.append(message.event)
    assert delivered == ["Before"]


async def stream_without_newline(session: FakeSession, total: int) -> int:
    """Write ``total`` bytes of one endless line; returns how many the peer let us write."""
    sent = 0
    try:
        while sent < total and not session.writer.is_closing():
            session.write(b"x" * CHUNK)
            await session.writer.drain()
            sent += CHUNK
    except ConnectionError:
        pass  # the client cut us off: that is the point
    return sent


async def test_an_endless_line_cuts_the_link_with_a_logged_reason_and_the_client_reconnects() -> None:
    async with FakeAmi() as server:
        ami = make_client(server, reconnect_min=0.01, reconnect_max=0.02)
        connections = ConnectionLog()
        ami.on_connection(connections)
        await ami.connect()
        try:
            first = await server.wait_session(1)
            await first.wait_action("Filter", 2)
            with RecordWaiter("ami.framing_violation") as violations:
                tracemalloc.start()
                try:
                    tracemalloc.reset_peak()
                    sent = await stream_without_newline(first, 8 * MIB)
                    (record,) = await violations.wait(1)
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
            assert record.levelno == logging.ERROR
            assert (record.what, record.limit, record.unit) == ("line", MIB, "characters")  # type: ignore[attr-defined]
            # The whole stream went through the client (or it was cut off first) while it held at most
            # the cap and one read: the old parser held all 8 MiB.
            assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB after {sent / MIB:.1f} MiB sent"
            async with asyncio.timeout(5):
                await first.closed.wait()
            await connections.wait_for(True, False, True)
            second = await server.wait_session(2)
            assert second.logged_in and ami.connected
            assert await ami.ping() >= 0
        finally:
            await ami.close()
