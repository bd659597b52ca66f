"""The node types of issue 4 and calendars: refused with file, line and reason; business hours."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr import BusinessCalendar, MenuError, load_menus

BASE = """entry = "start"
agent_queue = "general"

[calendars.office]
timezone = "Asia/Shanghai"
hours = { mon = "09:00-18:00", sat = "09:00-12:00" }
holidays = [2026-03-09]

[nodes.start]
type = "collect"
prompt = "bankcti/enter-account"
variable = "account"
secret = true
min_digits = 12
max_digits = 19
next = "pin"

[nodes.pin]
type = "collect"
prompt = "bankcti/enter-pin"
variable = "pin"
secret = true
next = "check"

[nodes.check]
type = "verify"
account = "account"
pin = "pin"
next = "hours"
retry = "pin"

[nodes.hours]
type = "condition"
test = "open"
calendar = "office"
then = "balance"
else = "bye"

[nodes.balance]
type = "action"
action = "balance"
next = "say"

[nodes.say]
type = "say"
say = "amount"
value = "12.30"
next = "lang"

[nodes.lang]
type = "language"
language = "zh"
next = "bye"

[nodes.bye]
type = "hangup"
"""

CASES = {
    "unknown node type": (
        BASE.replace('type = "say"', 'type = "speak"  # <-'),
        "node 'say': unknown node type 'speak'",
    ),
    "bad regex": (
        BASE.replace("max_digits = 19", "max_digits = 19\npattern = '(\\d+'  # <-"),
        "node 'start': pattern: '(\\\\d+' is not a regular expression",
    ),
    "min above max": (
        BASE.replace("min_digits = 12", "min_digits = 20").replace("[nodes.start]", "[nodes.start]  # <-"),
        "node 'start': min_digits must not exceed max_digits",
    ),
    "pin not secret": (
        BASE.replace('variable = "pin"\nsecret = true', 'variable = "pin"\nsecret = false').replace(
            'pin = "pin"', 'pin = "pin"  # <-'
        ),
        "node 'check': pin 'pin' must be collected with secret = true",
    ),
    "verify of an uncollected variable": (
        BASE.replace('account = "account"', 'account = "acct"  # <-'),
        "node 'check': account: no collect node sets variable 'acct'",
    ),
    "dangling retry": (
        BASE.replace('retry = "pin"', 'retry = "pn"  # <-'),
        "node 'check': retry: node 'pn' does not exist",
    ),
    "unknown calendar": (
        BASE.replace('calendar = "office"', 'calendar = "shop"  # <-'),
        "node 'hours': calendar 'shop' does not exist",
    ),
    "bad timezone": (
        BASE.replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Nowhere"  # <-'),
        "calendar 'office': timezone: unknown timezone 'Asia/Nowhere'",
    ),
    "bad hours": (
        BASE.replace('sat = "09:00-12:00"', 'sat = "12:00-09:00"'),
        "the span must end after it starts",
    ),
    "unsayable value": (
        BASE.replace('value = "12.30"', 'value = "lots"').replace("[nodes.say]", "[nodes.say]  # <-"),
        "node 'say': 'lots' is not an amount",
    ),
    "unknown action": (
        BASE.replace('action = "balance"', 'action = "transfer"  # <-'),
        "node 'balance': action:",
    ),
    "weak requirement": (
        BASE.replace('action = "balance"', 'action = "balance"\nrequires = "caller_id"').replace(
            "[nodes.balance]", "[nodes.balance]  # <-"
        ),
        "action 'balance' needs requires = 'verified' at least",
    ),
    "bad language": (BASE.replace('language = "zh"', 'language = "Chinese"  # <-'), "node 'lang': language:"),
    "say a secret": (
        BASE.replace('value = "12.30"', 'variable = "pin"  # <-'),
        "node 'say': variable 'pin' is a secret and may not be said",
    ),
    "silent loop through a condition": (
        BASE.replace('else = "bye"', 'else = "hours"'),
        "loop without a menu",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_node_is_refused_with_file_line_reason(tmp_path: Path, case: str) -> None:
    text, reason = CASES[case]
    path = tmp_path / "main.toml"
    path.write_text(text, encoding="utf-8")
    marked = [n for n, line in enumerate(text.splitlines(), start=1) if "# <-" in line]
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert caught.value.path == path
    assert reason in caught.value.reason
    if marked:
        assert caught.value.line == marked[0]


def test_good_menu_loads_and_missing_prompts_are_refused(tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(BASE, encoding="utf-8")
    assert load_menus(tmp_path).get("main").calendars["office"].holidays
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    names = ["enter-account", "enter-pin", "yuan", "fen", "minus"]
    (prompts / "en.toml").write_text("".join(f'{n} = "x"\n' for n in names), encoding="utf-8")
    (prompts / "zh.toml").write_text("".join(f'"bankcti/{n}" = "x"\n' for n in names[1:]), encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert caught.value.line == 11  # the prompt key of node 'start'
    assert (
        caught.value.reason
        == "node 'start': prompt 'bankcti/enter-account' is missing from the 'zh' prompt catalog"
    )


def _at(text: str) -> float:
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()


def test_business_hours_in_the_calendar_timezone() -> None:
    office = BusinessCalendar.model_validate(
        {"timezone": "Asia/Shanghai", "hours": {"mon": "09:00-18:00", "sun": "20:00-24:00"}, "holidays": []}
    )
    assert office.is_open(_at("2026-03-09T09:00:00+08:00"))
    assert not office.is_open(_at("2026-03-09T08:59:59+08:00"))
    assert not office.is_open(_at("2026-03-09T18:00:00+08:00"))
    # 02:00 UTC Monday is 10:00 in Shanghai.
    assert office.is_open(_at("2026-03-09T02:00:00+00:00"))
    assert office.is_open(_at("2026-03-08T23:59:00+08:00"))
    assert not office.is_open(_at("2026-03-10T10:00:00+08:00"))  # Tuesday: no hours
    always = BusinessCalendar.model_validate({"always_open": True})
    assert always.is_open(_at("2026-01-01T03:00:00+08:00"))


def test_holiday_is_closed() -> None:
    from datetime import date

    office = BusinessCalendar(hours={"mon": "09:00-18:00"}, holidays=[date(2026, 3, 9)])
    assert not office.is_open(_at("2026-03-09T10:00:00+08:00"))
    assert office.is_open(_at("2026-03-16T10:00:00+08:00"))
