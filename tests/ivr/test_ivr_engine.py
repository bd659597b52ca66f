"""The IVR engine driven over a real FastAGI TCP session by a scripted fake Asterisk."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import phonenumbers
import pytest
from ivr_fake_asterisk import HANGUP, FakeAsterisk

from crm_core.schemas import CustomerCard, IvrStep
from cti.fastagi import AgiChannel, FastAgiServer
from ivr import Handler, IvrContext, IvrEngine, IvrResult, Menu, MenuSet, Node, Route, Transition, load_menus

#: The walking skeleton's one-level menu (welcome, identify, main menu → queues).
BASIC_MENUS = Path(__file__).resolve().parent / "basic_menu"

ALICE = CustomerCard(id=1, name="Alice", tier="gold", phone_e164="+8613800138000")
BOB = CustomerCard(id=2, name="Bob", tier="std", phone_e164="+8613900139000")
BOB_WIFE = CustomerCard(id=3, name="Bo Li", tier="std", phone_e164="+8613900139000")


class MemoryDirectory:
    """Customers by E.164 number, like crm_core's directory (exact match after normalising)."""

    def __init__(self, *cards: CustomerCard) -> None:
        self.cards = cards
        self.lookups: list[tuple[str | None, str]] = []

    async def lookup_by_caller_id(self, raw: str | None, region: str) -> list[CustomerCard]:
        self.lookups.append((raw, region))
        if raw is None:
            return []
        e164 = phonenumbers.format_number(
            phonenumbers.parse(raw, region), phonenumbers.PhoneNumberFormat.E164
        )
        return [card for card in self.cards if card.phone_e164 == e164]


class BrokenDirectory:
    async def lookup_by_caller_id(self, raw: str | None, region: str) -> list[CustomerCard]:
        raise ConnectionError("database is down")


@dataclass
class Call:
    result: IvrResult
    steps: list[IvrStep]
    commands: list[str]

    def trail(self) -> list[tuple[str, str, str]]:
        return [(s.node, s.keys, s.result) for s in self.result.path]


Runner = Callable[..., Awaitable[Call]]


@pytest.fixture
async def run_call() -> AsyncIterator[Runner]:
    """Start a FastAGI server running the IVR; each call returns the result, steps and AGI commands."""
    servers: list[FastAgiServer] = []

    async def run(
        *,
        directory: object | None = None,
        menus: MenuSet | None = None,
        entry: str = "main",
        on_step: Callable[[IvrStep], Awaitable[None] | None] | None = None,
        handlers: dict[type[Node], Handler] | None = None,
        **script: object,
    ) -> Call:
        engine = IvrEngine(
            menus or load_menus(BASIC_MENUS),
            directory or MemoryDirectory(ALICE, BOB, BOB_WIFE),  # type: ignore[arg-type]
            region="CN",
            handlers=handlers,
        )
        done: asyncio.Future[tuple[IvrResult, list[IvrStep]]] = asyncio.get_running_loop().create_future()

        async def handler(channel: AgiChannel) -> None:
            steps: list[IvrStep] = []

            async def observe(step: IvrStep) -> None:
                steps.append(step)
                if on_step is not None:
                    outcome = on_step(step)
                    if outcome is not None:
                        await outcome

            done.set_result((await engine.run(channel, entry=entry, on_step=observe), steps))

        server = FastAgiServer(handler, port=0)
        await server.start()
        servers.append(server)
        fake = FakeAsterisk(server.port, **script)  # type: ignore[arg-type]
        async with asyncio.timeout(5):
            commands = await fake.call()
            result, steps = await done
        return Call(result, steps, commands)

    yield run
    for server in servers:
        await server.close()


MENU = "GET DATA bankcti/main-menu 5000 1"


async def test_key_1_routes_to_accounts_with_the_identified_customer(run_call: Runner) -> None:
    call = await run_call(keys=["1"])
    assert call.result.outcome == "routed" and call.result.route_queue == "accounts"
    assert call.commands == ['STREAM FILE bankcti/welcome ""', MENU]
    assert call.trail() == [
        ("welcome", "", "played"),
        ("identify", "", "matched=1"),
        ("main-menu", "1", "choice=1"),
        ("accounts", "", "queue=accounts"),
    ]
    assert call.steps == call.result.path
    assert call.result.customer == ALICE and call.result.candidates == [ALICE]
    assert call.result.authentication == "caller_id"
    assert call.result.caller_e164 == "+8613800138000"
    assert all(a.at <= b.at for a, b in zip(call.result.path, call.result.path[1:], strict=False))


async def test_invalid_key_then_2_routes_to_cards(run_call: Runner) -> None:
    call = await run_call(keys=["7", "2"])
    assert call.result.route_queue == "cards"
    assert call.commands == [
        'STREAM FILE bankcti/welcome ""',
        MENU,
        'STREAM FILE bankcti/invalid ""',
        MENU,
    ]
    assert call.trail()[2:] == [
        ("main-menu", "7", "invalid"),
        ("main-menu", "2", "choice=2"),
        ("cards", "", "queue=cards"),
    ]


async def test_three_timeouts_fall_back_to_general(run_call: Runner) -> None:
    call = await run_call(keys=["", "", ""])
    assert call.result.outcome == "routed" and call.result.route_queue == "general"
    assert call.commands == [
        'STREAM FILE bankcti/welcome ""',
        MENU,
        'STREAM FILE bankcti/timeout ""',
        MENU,
        'STREAM FILE bankcti/timeout ""',
        MENU,
    ]
    assert [r for _, _, r in call.trail()[2:]] == ["timeout", "timeout", "timeout", "queue=general"]
    assert call.trail()[-1][0] == "agent"


async def test_key_0_reaches_an_agent(run_call: Runner) -> None:
    call = await run_call(keys=["0"])
    assert call.result.route_queue == "general"


async def test_hangup_during_the_menu_is_abandoned_with_the_path(run_call: Runner) -> None:
    call = await run_call(keys=["9", HANGUP])
    assert call.result.outcome == "abandoned" and call.result.route_queue is None
    assert call.trail() == [
        ("welcome", "", "played"),
        ("identify", "", "matched=1"),
        ("main-menu", "9", "invalid"),
        ("main-menu", "", "abandoned"),
    ]
    assert call.commands[-1] == MENU  # nothing sent after the hang-up
    assert call.result.customer == ALICE  # what was learnt before the hang-up is kept


async def test_hangup_during_the_welcome(run_call: Runner) -> None:
    call = await run_call(hangup_on_stream=1)
    assert call.result.outcome == "abandoned"
    assert call.trail() == [("welcome", "", "abandoned")]


async def test_unknown_caller(run_call: Runner) -> None:
    call = await run_call(caller_id="+8613700137000", keys=["1"])
    assert call.trail()[1] == ("identify", "", "matched=0")
    assert call.result.customer is None and call.result.candidates == []
    assert call.result.authentication == "none"
    assert call.result.caller_e164 == "+8613700137000"
    assert call.result.route_queue == "accounts"


async def test_two_matches_give_candidates_but_no_customer(run_call: Runner) -> None:
    directory = MemoryDirectory(ALICE, BOB, BOB_WIFE)
    call = await run_call(directory=directory, caller_id="0086 139 0013 9000", keys=["2"])
    assert call.trail()[1] == ("identify", "", "matched=2")
    assert call.result.customer is None
    assert call.result.candidates == [BOB, BOB_WIFE]
    assert call.result.authentication == "none"
    assert call.result.caller_e164 == "+8613900139000"
    assert directory.lookups == [("0086 139 0013 9000", "CN")]


async def test_withheld_caller_id_skips_the_lookup(run_call: Runner) -> None:
    directory = MemoryDirectory(ALICE)
    call = await run_call(directory=directory, caller_id="anonymous", keys=["1"])
    assert call.trail()[1] == ("identify", "", "withheld")
    assert call.result.caller_e164 is None and directory.lookups == []
    garbled = await run_call(directory=directory, caller_id="12", keys=["1"])
    assert garbled.trail()[1] == ("identify", "", "unparsable")


async def test_directory_failure_still_routes_the_caller(run_call: Runner) -> None:
    call = await run_call(directory=BrokenDirectory(), keys=["1"])
    assert call.trail()[1] == ("identify", "", "lookup-failed")
    assert call.result.route_queue == "accounts" and call.result.customer is None


async def test_failing_step_observer_does_not_break_the_call(run_call: Runner) -> None:
    def explode(step: IvrStep) -> None:
        raise RuntimeError("observer bug")

    call = await run_call(on_step=explode, keys=["1"])
    assert call.result.route_queue == "accounts"


OTHER_MENUS = {
    "main.toml": """
entry = "ask"
agent_queue = "service"

[nodes.ask]
type = "menu"
prompt = "bankcti/ask"
choices = { "1" = "to-cards", "9" = "bye" }
retries = 2
timeout_ms = 3000

[nodes.to-cards]
type = "goto"
menu = "cards"

[nodes.bye]
type = "hangup"
prompt = "bankcti/goodbye"
""",
    "cards.toml": """
entry = "intro"

[nodes.intro]
type = "play"
prompts = ["bankcti/cards-1", "bankcti/cards-2"]
next = "again"

[nodes.again]
type = "goto"
next = "lost"

[nodes.lost]
type = "queue"
queue = "lost-cards"
""",
}


@pytest.fixture
def other_menus(tmp_path: Path) -> MenuSet:
    for name, text in OTHER_MENUS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return load_menus(tmp_path)


async def test_goto_another_menu_and_play_several_prompts(run_call: Runner, other_menus: MenuSet) -> None:
    call = await run_call(menus=other_menus, keys=["1"])
    assert call.result.route_queue == "lost-cards"
    assert call.commands == [
        "GET DATA bankcti/ask 3000 1",
        'STREAM FILE bankcti/cards-1 ""',
        'STREAM FILE bankcti/cards-2 ""',
    ]
    assert call.trail() == [
        ("ask", "1", "choice=1"),
        ("to-cards", "", "goto=cards:intro"),
        ("intro", "", "played"),
        ("again", "", "goto=lost"),
        ("lost", "", "queue=lost-cards"),
    ]
    assert call.result.caller_e164 is None  # no identify node in these menus


async def test_hangup_node_says_goodbye_and_hangs_up(run_call: Runner, other_menus: MenuSet) -> None:
    call = await run_call(menus=other_menus, keys=["9"])
    assert call.result.outcome == "hangup" and call.result.route_queue is None
    assert call.commands[-2:] == ['STREAM FILE bankcti/goodbye ""', "HANGUP"]
    assert call.trail()[-1] == ("bye", "", "hangup")


async def test_caller_leaving_during_goodbye_is_still_a_hangup(
    run_call: Runner, other_menus: MenuSet
) -> None:
    call = await run_call(menus=other_menus, keys=["9"], hangup_on_stream=1)
    assert call.result.outcome == "hangup"
    assert 'STREAM FILE bankcti/goodbye ""' in call.commands
    assert "HANGUP" not in call.commands  # the channel is already gone


async def test_menu_without_fallback_sends_the_caller_to_the_agent_queue(
    run_call: Runner, other_menus: MenuSet
) -> None:
    call = await run_call(menus=other_menus, keys=["5", "7"])
    assert call.result.route_queue == "service"
    # No invalid prompt configured: the menu is simply asked again.
    assert call.commands == ["GET DATA bankcti/ask 3000 1", "GET DATA bankcti/ask 3000 1"]
    assert call.trail() == [("ask", "5", "invalid"), ("ask", "7", "invalid"), ("ask", "", "fallback=service")]


async def test_entry_menu_is_chosen_by_name(run_call: Runner, other_menus: MenuSet) -> None:
    call = await run_call(menus=other_menus, entry="cards")
    assert call.result.route_queue == "lost-cards"
    assert call.trail()[0] == ("intro", "", "played")


class SayBalanceNode(Node):
    """A node type added outside ivr/: the extension point later issues use."""

    type: Literal["say-balance"] = "say-balance"
    queue: str


async def say_balance(ctx: IvrContext, node: SayBalanceNode) -> Transition:
    await ctx.channel.say_number(1234)
    await ctx.step(result="said")
    return Route(node.queue)


async def test_extra_node_types_plug_in_with_a_handler(run_call: Runner, tmp_path: Path) -> None:
    menus = MenuSet(
        {"main": Menu("main", tmp_path / "main.toml", "say", "general", {"say": SayBalanceNode(queue="x")})}
    )
    with pytest.raises(ValueError, match="no handler for SayBalanceNode"):
        IvrEngine(menus, MemoryDirectory(), region="CN")
    call = await run_call(menus=menus, handlers={SayBalanceNode: say_balance})
    assert call.commands == ['SAY NUMBER 1234 ""']
    assert call.trail() == [("say", "", "said")]
    assert call.result.route_queue == "x"
