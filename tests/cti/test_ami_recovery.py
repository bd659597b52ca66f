"""AMI reconnect timing against the PBX simulator stopped and restarted on the same port.

With the client's default timing: the first retry after a loss comes within
0.5 s; the client is logged in again within 1 s of the PBX listening again,
after any number of failed attempts, after a short-lived link and after a
ping timeout.  And a PBX that takes the login but drops the link at once,
every time, is retried less and less often (not in a tight loop).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ami_fake_server import FakeAmi, FakeSession
from test_ami_reconnect import RecordWaiter

from cti.ami.client import AmiClient
from cti.ami.message import AmiMessage
from cti.simulator import PbxSimulator, SimulatorConfig

WAIT = 10.0
FAILED_ATTEMPTS = 3  # enough for the old back-off (0.5, 1, 2, 4 s…) to have grown past a second


class Logins:
    """When each ``on_connection(True)`` happened (monotonic seconds); awaitable by count."""

    def __init__(self) -> None:
        self.at: list[float] = []
        self._changed = asyncio.Condition()

    async def __call__(self, connected: bool) -> None:
        if connected:
            async with self._changed:
                self.at.append(time.monotonic())
                self._changed.notify_all()

    async def wait(self, count: int) -> float:
        async with asyncio.timeout(WAIT), self._changed:
            await self._changed.wait_for(lambda: len(self.at) >= count)
        return self.at[count - 1]


@asynccontextmanager
async def pbx(port: int = 0) -> AsyncIterator[PbxSimulator]:
    sim = PbxSimulator(SimulatorConfig(ami_port=port, login_failure_delay=0.05))
    await sim.start()
    try:
        yield sim
    finally:
        await sim.close()


def client_for(port: int, **options: float) -> AmiClient:
    """A client with the default reconnect timing (what the service runs with)."""
    return AmiClient(
        host="127.0.0.1",
        port=port,
        username="bankcti",
        secret="bankcti-secret",
        ping_interval=options.pop("ping_interval", 60.0),
        **options,  # type: ignore[arg-type]
    )


async def outage(port: int, logins: Logins, count: int) -> float:
    """The PBX is down for ``FAILED_ATTEMPTS`` attempts, then listens again right after a
    failed one (the worst moment); seconds from listening again to the ``count``-th login.

    The PBX stops again on return (the next outage begins)."""
    with RecordWaiter("ami.reconnect_failed") as failures:
        await failures.wait(FAILED_ATTEMPTS)
    async with pbx(port):
        back = time.monotonic()
        logged_in = await logins.wait(count)
    return logged_in - back


async def test_back_within_a_second_of_the_pbx_after_every_outage() -> None:
    logins = Logins()
    with RecordWaiter("ami.disconnected") as lost:
        async with pbx() as sim:
            port = sim.ami_port
            ami = client_for(port)
            ami.on_connection(logins)
            await ami.connect()
        try:
            # The PBX went away (closed above): the first retry is quick.
            (first_loss,) = await lost.wait(1)
            assert first_loss.retry_in <= 0.5  # type: ignore[attr-defined]
            assert await outage(port, logins, 2) < 1.0
            # The second link lived well under 10 s: its loss used to keep the grown back-off.
            second_loss = (await lost.wait(2))[1]
            assert second_loss.retry_in <= 0.5  # type: ignore[attr-defined]
            assert await outage(port, logins, 3) < 1.0
        finally:
            await ami.close()


async def test_back_within_a_second_after_a_ping_timeout_and_a_restart() -> None:
    logins = Logins()
    async with pbx() as sim:
        port = sim.ami_port
        ami = client_for(port, ping_interval=0.2, ping_timeout=0.3, action_timeout=1.0)
        ami.on_connection(logins)
        await ami.connect()
        with RecordWaiter("ami.ping_timeout") as timeouts, RecordWaiter("ami.disconnected") as lost:
            sim.set_ami_frozen(True)  # a hung Asterisk: the socket stays open, nothing is answered
            await timeouts.wait(1)
            (loss,) = await lost.wait(1)
        assert loss.retry_in <= 0.5  # type: ignore[attr-defined]
    # The hung PBX is restarted (closed above, started again below on the same port).
    try:
        assert await outage(port, logins, 2) < 1.0
    finally:
        await ami.close()


async def connected_for_good(ami: AmiClient, server: FakeAmi) -> None:
    """Wait until the client is logged in on a session the server keeps."""
    for _ in range(int(WAIT / 0.01)):
        if ami.connected and server.sessions and not server.sessions[-1].closed.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the client did not stay logged in within {WAIT} s")


async def test_a_pbx_dropping_every_link_right_after_login_is_retried_less_and_less_often() -> None:
    """Logins succeed, filters are applied, then the PBX hangs up: a tight loop without a guard."""
    server = FakeAmi()
    dropping = False
    answer_normally = server.answer

    async def answer(session: FakeSession, msg: AmiMessage) -> None:
        await answer_normally(session, msg)
        if dropping and msg.get("MatchCriteria") == "action(exclude),name(Newexten)":
            await session.writer.drain()
            session.writer.close()  # the link ends right after it was set up

    server.answer = answer  # type: ignore[method-assign]
    await server.start()
    ami = AmiClient(
        host="127.0.0.1",
        port=server.port,
        username="cti",
        secret="cti-secret",
        ping_interval=60.0,
        reconnect_min=0.01,
        reconnect_max=0.02,
        flap_max=0.16,
        stable_after=0.3,
    )
    try:
        await ami.connect()
        with RecordWaiter("ami.reconnect_scheduled") as scheduled:
            dropping = True
            (await server.wait_session(1)).abort()
            records = await scheduled.wait(8)
            delays = [r.delay for r in records[:8]]  # type: ignore[attr-defined]
            # Three quick retries (one short link must not slow a recovery down), then doubling up to
            # flap_max — above reconnect_max (0.02), which only paces a PBX that cannot be reached.
            assert delays == [0.01, 0.01, 0.01, 0.02, 0.04, 0.08, 0.16, 0.16]
            dropping = False
            await connected_for_good(ami, server)
        # A link that held for stable_after ends the streak: its loss is retried at the minimum again.
        await asyncio.sleep(0.4)  # longer than stable_after: the condition under test, not an assertion
        assert ami.connected
        with RecordWaiter("ami.disconnected") as lost:
            server.sessions[-1].abort()
            (after_stable,) = await lost.wait(1)
        assert after_stable.retry_in == 0.01  # type: ignore[attr-defined]
    finally:
        await ami.close()
        await server.stop()
