"""Test helper: the IVR engine behind a real FastAGI server, called by the PBX simulator over TCP.

``IvrBench`` runs the default bank menus (or any menu directory) with an
in-memory self-service (:class:`FakeSelfService`) and directory, so every
menu path can be driven by a simulated caller's keys without a database.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import phonenumbers
from callback_desk import CallbackDesk

from crm_core.schemas import CustomerCard, IvrStep
from cti.fastagi import AgiChannel, AgiHangup, FastAgiServer
from cti.simulator import CallerScript, PbxSimulator, SimulatedCall, SimulatorConfig
from ivr import IvrEngine, IvrResult, MenuSet, load_menus

REPO = Path(__file__).resolve().parents[2]
PIN = "918273"
ACCOUNT = "6222020200112233"
CARD = "6217000011112222"

#: Tuesday 2026-03-10 10:00 in Shanghai (open) and Sunday 2026-03-08 10:00 (closed).
OPEN = datetime(2026, 3, 10, 2, 0, tzinfo=UTC).timestamp()
CLOSED = datetime(2026, 3, 8, 2, 0, tzinfo=UTC).timestamp()

WANG = CustomerCard(id=1, name="Wang Fang", tier="std", phone_e164="+8613800138000")
# Li Na is a VIP as the CRM flags her (tier vip is one of analytics.vip_tiers by default).
LI = CustomerCard(id=2, name="Li Na", tier="vip", phone_e164="+8613900139000", vip=True)


class MemoryDirectory:
    def __init__(self, *cards: CustomerCard) -> None:
        self.cards = cards

    async def lookup_by_caller_id(self, raw: str | None, region: str) -> list[CustomerCard]:
        if raw is None:
            return []
        e164 = phonenumbers.format_number(
            phonenumbers.parse(raw, region), phonenumbers.PhoneNumberFormat.E164
        )
        return [card for card in self.cards if card.phone_e164 == e164]

    async def card(self, customer_id: int) -> CustomerCard | None:
        return next((c for c in self.cards if c.id == customer_id), None)


@dataclass(frozen=True)
class Verified:
    status: str
    customer_id: int | None = None
    account_id: int | None = None
    attempts_left: int | None = None
    locked_until: datetime | None = None


@dataclass(frozen=True)
class Balance:
    type: str
    last4: str
    balance: Decimal
    currency: str = "CNY"
    status: str = "active"


@dataclass(frozen=True)
class Line:
    amount: Decimal
    occurred_on: date
    description: str = ""


@dataclass(frozen=True)
class Ref:
    reference: str
    account_last4: str = ""
    id: int = 0


@dataclass
class FakeSelfService:
    """Accounts of customer 1; locks after ``max_failures`` wrong PINs (counted across calls)."""

    max_failures: int = 3
    failures: int = 0
    calls: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    async def verify(
        self, *, account_number: str, pin: str, caller_customer_id: int | None, call_id: str | None
    ) -> Verified:
        # The fake keeps only the outcome: a spy must not become a leak in the scan.
        if self.failures >= self.max_failures:
            outcome = Verified("locked", attempts_left=0)
        elif account_number not in (ACCOUNT, CARD):
            outcome = Verified("unknown_account")
        elif pin != PIN:
            self.failures += 1
            left = self.max_failures - self.failures
            outcome = Verified("locked" if left == 0 else "wrong_pin", attempts_left=left)
        else:
            self.failures = 0
            outcome = Verified("verified", customer_id=1, account_id=10)
        self.calls.append(("verify", {"status": outcome.status, "call_id": call_id}))
        return outcome

    async def balances(self, customer_id: int, *, call_id: str | None = None) -> list[Balance]:
        self.calls.append(("balances", {"customer_id": customer_id}))
        return [Balance("deposit", "2233", Decimal("2500.75"))]

    async def recent_transactions(
        self, customer_id: int, limit: int = 3, *, call_id: str | None = None
    ) -> list[Line]:
        self.calls.append(("recent_transactions", {"customer_id": customer_id, "limit": limit}))
        return [Line(Decimal("-120.50"), date(2026, 3, 9)), Line(Decimal("3000"), date(2026, 3, 1))]

    async def report_card_lost(self, customer_id: int, *, account_id: int | None, call_id: str | None) -> Ref:
        self.calls.append(("report_card_lost", {"customer_id": customer_id, "account_id": account_id}))
        return Ref("LC-20260310-0042", "2222")

    async def request_callback(
        self,
        customer_id: int | None,
        *,
        number_e164: str,
        window_start: datetime,
        window_end: datetime,
        reason: str,
        call_id: str | None,
    ) -> Ref:
        self.calls.append(
            (
                "request_callback",
                {
                    "customer_id": customer_id,
                    "number": number_e164,
                    "reason": reason,
                    "start": window_start,
                    "end": window_end,
                },
            )
        )
        return Ref("CB-7788", id=7788)


@dataclass
class Outcome:
    result: IvrResult
    call: SimulatedCall
    steps: list[IvrStep]

    def nodes(self) -> list[str]:
        return [step.node for step in self.result.path]

    def trail(self) -> list[tuple[str, str, str]]:
        return [(s.node, s.keys, s.result) for s in self.result.path]


class IvrBench:
    """``async with IvrBench(...) as bench: outcome = await bench.call(CallerScript(...))``."""

    def __init__(
        self,
        *,
        menus: MenuSet | None = None,
        clock: float = OPEN,
        selfservice: FakeSelfService | None = None,
        speed: float = 50.0,
    ) -> None:
        self.selfservice = selfservice or FakeSelfService()
        self.callbacks = CallbackDesk()
        self.engine = IvrEngine(
            menus or load_menus(REPO / "config" / "ivr"),
            MemoryDirectory(WANG, LI),
            region="CN",
            selfservice=self.selfservice,
            callbacks=self.callbacks,
            clock=lambda: clock,
        )
        self.results: dict[str, asyncio.Future[tuple[IvrResult, list[IvrStep]]]] = {}
        self.server = FastAgiServer(routes={"inbound": self._handle}, port=0)
        self._hangups: dict[str, tuple[str, SimulatedCall]] = {}
        self.simulator: PbxSimulator | None = None
        self._speed = speed

    async def _handle(self, channel: AgiChannel) -> None:
        steps: list[IvrStep] = []
        future = self.results.setdefault(channel.uniqueid, asyncio.get_running_loop().create_future())
        trigger = self._hangups.get(channel.uniqueid)

        async def on_step(step: IvrStep) -> None:
            steps.append(step)
            if trigger is not None and step.node == trigger[0] and step.result != "abandoned":
                await trigger[1].hangup()

        try:
            await channel.answer()
            result = await self.engine.run(channel, entry="bank", on_step=on_step, call_id=channel.uniqueid)
            future.set_result((result, steps))
            await channel.hangup()
        except AgiHangup:
            if not future.done():
                future.set_exception(AssertionError("caller hung up before the IVR ran"))

    async def __aenter__(self) -> IvrBench:
        await self.server.start()
        self.simulator = PbxSimulator(SimulatorConfig(agi_port=self.server.port, speed=self._speed))
        await self.simulator.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.simulator is not None:
            await self.simulator.close()
        await self.server.close()

    async def call(self, script: CallerScript, *, hang_up_after: str = "") -> Outcome:
        """Place the call and wait for its IVR result; ``hang_up_after``: the caller hangs up
        as soon as that node's step is recorded (so the next node is where the call is abandoned)."""
        assert self.simulator is not None
        call = await self.simulator.place_call(script)
        if hang_up_after:
            self._hangups[call.uniqueid] = (hang_up_after, call)
        future = self.results.setdefault(call.uniqueid, asyncio.get_running_loop().create_future())
        async with asyncio.timeout(20):
            result, steps = await future
        await call.wait_finished(20)
        return Outcome(result, call, steps)
