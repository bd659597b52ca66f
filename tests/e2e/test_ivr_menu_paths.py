"""Every path of the default bank menus, keys pressed by a simulated caller over real TCP."""

from __future__ import annotations

import logging

import pytest
from ivr_harness import ACCOUNT, CARD, CLOSED, PIN, FakeSelfService, IvrBench, Outcome

from cti.simulator import CallerScript

WANG_PHONE = "013800138000"  # customer 1, standard tier
LI_PHONE = "+8613900139000"  # customer 2, VIP
STRANGER = "+8613700137000"

EN = ["2"]  # choose-language: English
VERIFY = [f"{ACCOUNT}#", PIN]


#: Attributes every log record has; timing floats among them could hold any digits by chance.
_STANDARD = set(logging.LogRecord("x", logging.INFO, "x", 1, "x", None, None).__dict__) | {
    "message",
    "asctime",
}


def _fields(record: logging.LogRecord) -> str:
    """The record's ``extra`` fields (where a careless caller would put a secret)."""
    return repr({k: v for k, v in record.__dict__.items() if k not in _STANDARD})


async def test_balance_for_a_verified_caller_then_an_agent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with IvrBench() as bench:
        out = await bench.call(CallerScript(WANG_PHONE, keys=[*EN, "1", *VERIFY, "1", "0"]))
    result = out.result
    assert result.outcome == "routed" and result.route_queue == "general"
    assert result.authentication == "verified" and result.customer_id == 1 and result.language == "en"
    assert result.customer is not None and result.customer.name == "Wang Fang"
    assert out.nodes()[:8] == [
        "welcome",
        "choose-language",
        "english",
        "identify",
        "vip-check",
        "main-menu",
        "account-services",
        "account-number",
    ]
    trail = out.trail()
    assert ("account-number", "x" * 16, "entered 16 digits") in trail
    assert ("account-pin", "x" * 6, "entered 6 digits") in trail
    assert ("account-verify", "", "verified") in trail
    assert ("balance", "", "balance: 1 accounts") in trail
    assert ("agent-hours", "", "office open: then") in trail
    commands = out.call.agi_commands
    assert (
        'SET VARIABLE CHANNEL(language) "en"' in commands or "SET VARIABLE CHANNEL(language) en" in commands
    )
    # 2500.75: "2233" as digits, then 2500 yuan 75 fen.
    assert any(c.startswith("SAY DIGITS 2233") for c in commands)
    said = [c for c in commands if c.startswith("SAY NUMBER")]
    assert said[:2] == ['SAY NUMBER 2500 ""', 'SAY NUMBER 75 ""'] or said[:2] == [
        "SAY NUMBER 2500 ",
        "SAY NUMBER 75 ",
    ]
    _assert_no_secret(out, caplog)


def _assert_no_secret(out: Outcome, caplog: pytest.LogCaptureFixture) -> None:
    """Neither PIN nor account number in AGI commands, AMI events, the path or any log record."""
    texts = [*out.call.agi_commands, *(e.encode().decode("utf-8", "replace") for e in out.call.events)]
    texts += [step.model_dump_json() for step in out.result.path]
    texts += [out.result.model_dump_json()]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(_fields(record))
    for secret in (PIN, ACCOUNT, CARD):
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"{secret} leaked: {leaks[:2]}"
    assert not any(c.startswith("SET VARIABLE") and PIN in c for c in out.call.agi_commands)


async def test_recent_transactions_say_amount_and_date() -> None:
    async with IvrBench() as bench:
        out = await bench.call(CallerScript(WANG_PHONE, keys=[*EN, "1", *VERIFY, "2", "0"]))
    assert ("transactions", "", "recent transactions: 2") in out.trail()
    commands = out.call.agi_commands
    assert any(c.startswith("STREAM FILE bankcti/minus") for c in commands)
    # Amounts are said as yuan then fen; dates with Asterisk's own SAY DATE.
    assert any(c.startswith("SAY DATE ") for c in commands)
    numbers = [c.split()[2] for c in commands if c.startswith("SAY NUMBER")]
    assert numbers[:2] == ["120", "50"]
    assert "2026" not in numbers  # no year/month/day fallback: the PBX said the date


async def test_wrong_pin_retries_then_lockout_goes_to_an_agent() -> None:
    service = FakeSelfService(max_failures=3)
    async with IvrBench(selfservice=service) as bench:
        out = await bench.call(
            CallerScript(WANG_PHONE, keys=[*EN, "1", f"{ACCOUNT}#", "111111", "222222", "333333"])
        )
        trail = out.trail()
        assert [r for n, _, r in trail if n == "account-verify"] == [
            "wrong_pin, 2 attempts left",
            "wrong_pin, 1 attempts left",
            "locked",
        ]
        assert out.result.authentication == "caller_id" and out.result.route_queue == "general"
        # The lock holds across calls: the right PIN is refused now.
        again = await bench.call(CallerScript(WANG_PHONE, keys=[*EN, "1", *VERIFY]))
    assert ("account-verify", "", "locked") in again.trail()
    assert again.result.authentication == "caller_id"
    assert any(c.startswith("STREAM FILE bankcti/pin-locked") for c in again.call.agi_commands)


async def test_report_lost_card_says_the_reference() -> None:
    async with IvrBench() as bench:
        out = await bench.call(
            CallerScript(WANG_PHONE, keys=[*EN, "2", "1", f"{CARD}#", PIN, ""], key_delay=0.1)
        )
        assert ("report-lost", "", "card reported lost: LC-20260310-0042") in out.trail()
        assert any(c.startswith("SAY DIGITS 202603100042") for c in out.call.agi_commands)
        assert ("report_card_lost", {"customer_id": 1, "account_id": 10}) in bench.selfservice.calls


async def test_callback_is_handed_to_the_acd() -> None:
    async with IvrBench() as bench:
        out = await bench.call(CallerScript(WANG_PHONE, keys=[*EN, "9"]))
        assert out.result.outcome == "hangup"
        assert ("callback", "", "callback requested: CB-7788") in out.trail()
        [pending] = bench.callbacks.pending()
    assert pending.number_e164 == "+8613800138000" and pending.customer_id == 1
    assert (pending.window_end - pending.window_start).total_seconds() == 120 * 60


async def test_vip_is_greeted_and_reaches_the_priority_queue() -> None:
    async with IvrBench(clock=CLOSED) as bench:
        out = await bench.call(CallerScript(LI_PHONE, keys=["1", "0"]))
    assert "vip-welcome" in out.nodes()
    assert out.result.route_queue == "priority" and out.result.route_priority == 10
    assert out.result.tier == "vip" and out.result.language == "zh"


async def test_wealth_needs_a_skill() -> None:
    async with IvrBench() as bench:
        out = await bench.call(CallerScript(WANG_PHONE, keys=["1", "3"]))
    assert out.result.route_queue == "general" and out.result.route_skills == frozenset({"wealth"})


async def test_after_hours_offers_a_callback_or_the_closed_message() -> None:
    async with IvrBench(clock=CLOSED) as bench:
        closed = await bench.call(CallerScript(WANG_PHONE, keys=["1", "0", ""]))
        assert closed.result.outcome == "hangup" and closed.nodes()[-1] == "closed"
        callback = await bench.call(CallerScript(WANG_PHONE, keys=["1", "2", "2", "1"]))
        assert ("after-hours-callback", "", "callback requested: CB-7788") in callback.trail()
        stranger = await bench.call(CallerScript(STRANGER, keys=["1", "0", "1"]))
        assert ("after-hours-callback", "", "callback requested: CB-7788") in stranger.trail()
        assert ("request_callback", None) in [(n, a.get("customer_id")) for n, a in bench.selfservice.calls]
        withheld = await bench.call(CallerScript("anonymous", keys=["1", "0", "1"]))
    assert ("after-hours-callback", "", "denied: no caller number") in withheld.trail()
    assert withheld.nodes()[-1] == "closed"


async def test_bad_keys_and_timeouts_fall_back_to_an_agent() -> None:
    async with IvrBench() as bench:
        out = await bench.call(CallerScript(STRANGER, keys=["7", "", "8", "", "4"]))
    trail = out.trail()
    assert trail[1:3] == [("choose-language", "7", "invalid"), ("choose-language", "", "timeout")]
    assert ("mandarin", "", "language=zh") in trail
    assert [r for n, _, r in trail if n == "main-menu"] == ["invalid", "timeout", "invalid"]
    assert out.result.route_queue == "general" and out.result.authentication == "none"


async def test_short_account_number_is_refused_without_echoing_it() -> None:
    async with IvrBench() as bench:
        out = await bench.call(CallerScript(WANG_PHONE, keys=[*EN, "1", "1234#", "", "", ""]))
    results = [r for n, _, r in out.trail() if n == "account-number"]
    assert results == ["invalid: too short (4 of at least 12 digits)", "timeout", "timeout"]
    assert all("1234" not in step.keys for step in out.result.path)


async def test_hang_up_during_the_welcome() -> None:
    async with IvrBench(speed=20.0) as bench:
        # Answer takes 0.5 s, the welcome 1.4 s (simulated): 1 s is inside the welcome.
        out = await bench.call(CallerScript(WANG_PHONE, hangup_after=1.0))
    assert out.result.outcome == "abandoned" and out.trail() == [("welcome", "", "abandoned")]


@pytest.mark.parametrize(
    ("keys", "after", "where"),
    [
        ([], "welcome", "choose-language"),
        (["2"], "vip-check", "main-menu"),
        ([*EN, "1"], "account-services", "account-number"),
        ([*EN, "1", f"{ACCOUNT}#"], "account-number", "account-pin"),
        ([*EN, "1", *VERIFY], "account-verify", "account-menu"),
        ([*EN, "2"], "main-menu", "card-menu"),
    ],
)
async def test_hang_up_at_each_node_is_abandoned_with_the_path(
    keys: list[str], after: str, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with IvrBench(speed=20.0) as bench:
        out = await bench.call(CallerScript(WANG_PHONE, keys=keys), hang_up_after=after)
    assert out.result.outcome == "abandoned"
    assert out.trail()[-1] == (where, "", "abandoned")
    assert out.nodes()[0] == "welcome"
    _assert_no_secret(out, caplog)
