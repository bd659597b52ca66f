"""FastAgiServer over real TCP: routing, hostile peers, shutdown, concurrency."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
from fastagi_peer import AgiPeer, agi_session, encode_env, make_env

from cti.fastagi import MAX_LINE_BYTES, AgiChannel, AgiHandler, AgiHangup, FastAgiServer

LOGGER = "cti.fastagi"


def log_events(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


async def answer_then_verbose(channel: AgiChannel) -> None:
    await channel.answer()
    await channel.verbose(f"hello {channel.uniqueid}")


def ok(command: str) -> str:
    return "200 result=1" if command.startswith("VERBOSE") else "200 result=0"


async def test_port_zero_is_resolved_and_start_twice_is_refused() -> None:
    server = FastAgiServer(answer_then_verbose, port=0)
    await server.start()
    try:
        assert server.port > 0
        assert server.active_sessions == 0
        with pytest.raises(RuntimeError):
            await server.start()
    finally:
        await server.close()


async def test_routing_by_script_path_with_default_handler() -> None:
    seen: list[tuple[str, str]] = []

    def route(label: str) -> AgiHandler:
        async def handler(channel: AgiChannel) -> None:
            seen.append((label, channel.script))
            await channel.answer()

        return handler

    server = FastAgiServer(route("default"), routes={"ivr": route("ivr"), "acd/wait": route("acd")}, port=0)
    async with server:
        for script in ["ivr", "ivr?lang=de", "acd/wait", "marketing"]:
            commands = await agi_session(server.port, make_env(script), ok)
            assert commands == ["ANSWER"]
    assert seen == [("ivr", "ivr"), ("ivr", "ivr"), ("acd", "acd/wait"), ("default", "marketing")]


async def test_unknown_script_without_default_is_hung_up(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    async def ivr(channel: AgiChannel) -> None:
        ran.append(channel.script)

    with caplog.at_level(logging.INFO, logger=LOGGER):
        async with FastAgiServer(routes={"ivr": ivr}, port=0, env_timeout=0.2) as server:
            commands = await agi_session(server.port, make_env("nope"), lambda command: "200 result=1")
            # A peer that never answers the HANGUP is closed after env_timeout.
            async with await AgiPeer.connect(server.port) as peer:
                await peer.send_env(make_env("nope"))
                assert await peer.read_command() == "HANGUP"
                assert await peer.read_command() is None
    assert commands == ["HANGUP"]
    assert ran == []
    unknown = [r for r in caplog.records if r.getMessage() == "fastagi.unknown_script"]
    assert len(unknown) == 2
    assert unknown[0].__dict__["script"] == "nope"


async def test_handler_exception_is_logged_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def buggy(channel: AgiChannel) -> None:
        await channel.answer()
        raise KeyError("no such menu")

    async def hangs_up(channel: AgiChannel) -> None:
        await channel.get_data("beep", 5000, 1)

    routes = {"buggy": buggy, "hangs-up": hangs_up, "fine": answer_then_verbose}
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        async with FastAgiServer(routes=routes, port=0) as server:
            assert await agi_session(server.port, make_env("buggy"), ok) == ["ANSWER"]
            assert await agi_session(server.port, make_env("hangs-up"), lambda c: "200 result=-1") == [
                "GET DATA beep 5000 1"
            ]
            assert await agi_session(server.port, make_env("fine", uniqueid="7.1"), ok) == [
                "ANSWER",
                'VERBOSE "hello 7.1" 1',
            ]
            await server.wait_idle()
    [failure] = [r for r in caplog.records if r.getMessage() == "fastagi.handler_failed"]
    assert failure.levelno == logging.ERROR
    assert (failure.__dict__["script"], failure.__dict__["error_type"]) == ("buggy", "KeyError")
    assert failure.exc_info is not None
    assert "fastagi.session_hangup" in log_events(caplog)


async def test_connect_and_close_storm_neither_spins_nor_leaks() -> None:
    """panoramisk spins at 100 % CPU on a bare connect-and-close; we must not."""
    ran: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        ran.append(channel.uniqueid)
        await answer_then_verbose(channel)

    async with FastAgiServer(handler, port=0) as server:
        baseline_tasks = len(asyncio.all_tasks())

        async def hit(i: int) -> None:
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            if i % 3 == 1:
                writer.write(b"agi_network: yes\nagi_network_scr")  # half an env block
            if i % 3 == 2:
                writer.transport.abort()  # RST instead of FIN
                return
            writer.close()
            await writer.wait_closed()

        async with asyncio.timeout(10):
            for batch in range(4):
                await asyncio.gather(*(hit(batch * 50 + i) for i in range(50)))
            await server.wait_idle()
        assert server.active_sessions == 0
        assert len(asyncio.all_tasks()) == baseline_tasks
        assert ran == []  # a half env block followed by EOF is not a call

        # An idle server costs no CPU: a spinning session would burn the whole window.
        cpu_before = time.process_time()
        await asyncio.sleep(0.3)
        assert time.process_time() - cpu_before < 0.1

        started = time.perf_counter()
        commands = await agi_session(server.port, make_env(uniqueid="9.9"), ok, io_timeout=1.0)
        assert commands == ["ANSWER", 'VERBOSE "hello 9.9" 1']
        assert time.perf_counter() - started < 1.0
        assert ran == ["9.9"]


@pytest.mark.parametrize(
    "opening",
    [
        b"GET / HTTP/1.1\r\nHost: cti\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) + b"\n\n",
        b"agi_network: yes\nagi_channel Local/x\n\n",
        b"agi_network: yes\nAGI_CHANNEL: x\n\n",
        b"agi_network: yes\nnetwork_script: ivr\n\n",
        b"\n",
        b"x" * (MAX_LINE_BYTES + 10),
        b"agi_calleridname: " + b"x" * MAX_LINE_BYTES + b"\n\n",
        b"".join(b"agi_arg_%d: x\n" % i for i in range(600)) + b"\n",
    ],
    ids=[
        "http",
        "tls-hello",
        "no-colon",
        "upper-case-key",
        "no-agi-prefix",
        "empty-block",
        "line-without-end",
        "line-over-64KiB",
        "too-many-lines",
    ],
)
async def test_garbage_opening_is_dropped(opening: bytes, caplog: pytest.LogCaptureFixture) -> None:
    called: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        called.append(channel.script)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        async with FastAgiServer(handler, port=0) as server, await AgiPeer.connect(server.port) as peer:
            try:
                await peer.send(opening)
            except ConnectionResetError:
                pass  # the server may already have dropped us mid-write
            assert await peer.read_command() is None
            async with asyncio.timeout(5):
                await server.wait_idle()
    assert called == []
    assert "fastagi.bad_env" in log_events(caplog)


async def test_env_that_never_ends_is_dropped_after_env_timeout(caplog: pytest.LogCaptureFixture) -> None:
    async with FastAgiServer(answer_then_verbose, port=0, env_timeout=0.2) as server:
        with caplog.at_level(logging.WARNING, logger=LOGGER):
            async with await AgiPeer.connect(server.port) as peer:
                await peer.send(encode_env(make_env())[:-1])  # everything but the empty line
                started = time.perf_counter()
                assert await peer.read_command() is None
                assert 0.15 < time.perf_counter() - started < 2.0
            async with asyncio.timeout(5):
                await server.wait_idle()
    assert "fastagi.env_timeout" in log_events(caplog)


async def test_env_bytes_that_are_not_utf8_do_not_break_the_session() -> None:
    names: list[str | None] = []

    async def handler(channel: AgiChannel) -> None:
        names.append(channel.caller_name)
        await channel.answer()

    async with FastAgiServer(handler, port=0) as server, await AgiPeer.connect(server.port) as peer:
        await peer.send(b"agi_network_script: ivr\nagi_calleridname: Zo\xeb M\xc3\xbcller\n\n")
        assert await peer.read_command() == "ANSWER"
        await peer.reply("200 result=0")
        assert await peer.read_command() is None
    assert names == ["Zo\ufffd Müller"]


async def test_close_cancels_running_sessions_and_stops_accepting(caplog: pytest.LogCaptureFixture) -> None:
    started = asyncio.Event()
    outcome: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        started.set()
        try:
            await channel.get_data("beep", 60000, 6)  # the fake Asterisk never answers
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    server = FastAgiServer(handler, port=0)
    await server.start()
    port = server.port
    async with await AgiPeer.connect(port) as peer:
        await peer.send_env(make_env())
        assert await peer.read_command() == "GET DATA beep 60000 6"
        async with asyncio.timeout(5):
            await started.wait()
        assert server.active_sessions == 1
        async with asyncio.timeout(5):
            await server.close()
        assert outcome == ["cancelled"]
        assert server.active_sessions == 0
        assert await peer.read_command() is None
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


async def test_three_hundred_simultaneous_sessions() -> None:
    count = 300
    all_in = asyncio.Event()
    inside: set[str] = set()
    finished: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        inside.add(channel.uniqueid)
        if len(inside) == count:
            all_in.set()
        async with asyncio.timeout(10):
            await all_in.wait()  # every session is open at the same time
        account = await channel.get_data("beep", 6000, 6)
        await channel.set_variable("IVR_ACCOUNT", account)
        assert await channel.get_variable("IVR_ACCOUNT") == account
        finished.append(channel.uniqueid)

    def replies_for(i: int) -> Callable[[str], str]:
        def replies(command: str) -> str:
            if command.startswith("GET DATA"):
                return f"200 result={1000 + i}"
            if command.startswith("GET VARIABLE"):
                return f"200 result=1 ({1000 + i})"
            return "200 result=1"

        return replies

    async with FastAgiServer(handler, port=0) as server:
        async with asyncio.timeout(30):
            results = await asyncio.gather(
                *(agi_session(server.port, make_env(uniqueid=f"1.{i}"), replies_for(i)) for i in range(count))
            )
            await server.wait_idle()
    assert sorted(finished) == sorted(f"1.{i}" for i in range(count))
    for i, commands in enumerate(results):
        assert commands == [
            "ANSWER",
            "GET DATA beep 6000 6",
            f"SET VARIABLE IVR_ACCOUNT {1000 + i}",
            "GET VARIABLE IVR_ACCOUNT",
        ]


async def test_handler_may_catch_hangup_and_still_log_on_a_dead_channel() -> None:
    notes: list[bool] = []

    async def handler(channel: AgiChannel) -> None:
        try:
            await channel.wait_for_digit(5000)
        except AgiHangup:
            await channel.verbose("caller left")
            notes.append(channel.hung_up)

    replies = {"WAIT FOR DIGIT 5000": "200 result=-1", 'VERBOSE "caller left" 1': "HANGUP\n200 result=1"}
    async with FastAgiServer(handler, port=0) as server:
        assert await agi_session(server.port, make_env(), replies.__getitem__) == list(replies)
    assert notes == [True]
