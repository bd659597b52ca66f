"""A queue's ``open_hours``: the real ACD with the bank menus' ``office`` calendar, and fail-closed errors.

``office`` (config/ivr/bank.toml, Asia/Shanghai): Monday to Friday
09:00–18:00, Saturday 09:00–12:00, holidays closed.  A call queued while
the queue is closed ends at once with the ``closed`` exit (the call flow
then plays the closed message); one queued while it is open waits for an
agent.  A calendar no menu defines is a start-up error naming the queue and
the calendar; should the menus lose it later (a reload), the queue is
closed, never open by default.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from acd import Acd, QueueConfig, QueueConfigError, QueuedCall, QueueExit
from acd.events import BusEvent
from bankcti.acd_setup import check_open_hours, make_is_open
from bankcti.app import Service
from bankcti.settings import load_settings
from ivr import MenuSet, load_menus

REPO = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> float:
    """Epoch seconds of a local Shanghai time."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).timestamp()


class Sink:
    """The ACD's event sink: keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[BusEvent] = []

    async def publish(self, event: BusEvent) -> None:
        self.events.append(event)


@pytest.fixture(scope="module")
def bank_menus() -> MenuSet:
    return load_menus(REPO / "config" / "ivr")


async def _queue_at(menus: MenuSet, moment: float, open_hours: str = "office") -> str:
    """Queue one call at ``moment``: ``waiting``, or the reason the ACD ended it at once."""
    acd = Acd(Sink(), clock=lambda: moment, is_open=make_is_open(lambda: menus, ignore=False))
    acd.add_queue(QueueConfig("cards", open_hours=open_hours))
    acd.register_agent("anna", "Anna", "PJSIP/1001", ["cards"])
    await acd.set_agent_state("anna", "paused", "break")  # logged in: "no agents" is not the reason
    ticket = await acd.enqueue(QueuedCall("c1", "cards"))
    if not ticket.offer.done():
        return "waiting"
    with pytest.raises(QueueExit) as exited:
        ticket.offer.result()
    return exited.value.reason


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [
        ("2026-03-10 10:00", "waiting"),  # Tuesday morning
        ("2026-03-10 09:00", "waiting"),  # the minute it opens
        ("2026-03-10 17:59", "waiting"),
        ("2026-03-10 18:00", "closed"),  # the minute it closes
        ("2026-03-10 08:59", "closed"),
        ("2026-03-14 11:30", "waiting"),  # Saturday until noon
        ("2026-03-14 12:00", "closed"),
        ("2026-03-08 10:00", "closed"),  # Sunday
        ("2026-10-01 10:00", "closed"),  # a holiday on a Thursday
    ],
)
async def test_a_call_outside_open_hours_gets_the_closed_exit(
    bank_menus: MenuSet, local_time: str, expected: str
) -> None:
    assert await _queue_at(bank_menus, at(local_time)) == expected


async def test_ignoring_business_hours_keeps_the_queue_open(bank_menus: MenuSet) -> None:
    is_open = make_is_open(lambda: bank_menus, ignore=True)
    assert is_open(QueueConfig("cards", open_hours="office"), at("2026-03-08 10:00"))


async def test_a_calendar_the_menus_lost_closes_the_queue(
    bank_menus: MenuSet, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    # Tuesday 10:00: "office" would be open, but no menu defines "night-shift" any more.
    assert await _queue_at(bank_menus, at("2026-03-10 10:00"), open_hours="night-shift") == "closed"
    [record] = [r for r in caplog.records if r.getMessage() == "acd.unknown_calendar"]
    assert (record.__dict__["queue"], record.__dict__["calendar"]) == ("cards", "night-shift")


def test_check_open_hours_names_the_queue_and_the_calendar(bank_menus: MenuSet) -> None:
    check_open_hours([QueueConfig("cards", open_hours="office"), QueueConfig("general")], bank_menus)
    with pytest.raises(QueueConfigError) as refused:
        check_open_hours([QueueConfig("cards", open_hours="offfice")], bank_menus)
    assert str(refused.value) == (
        "queue 'cards': open_hours: calendar 'offfice' is defined in no IVR menu "
        f"of {REPO / 'config' / 'ivr'} (calendars: office)"
    )


def _queue_file(tmp_path: Path, open_hours: str) -> Path:
    path = tmp_path / "queues.toml"
    path.write_text(f'[queues.cards]\nskills = ["cards"]\nopen_hours = "{open_hours}"\n', encoding="utf-8")
    return path


def test_the_service_refuses_to_start_with_an_unknown_calendar(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={"data_dir": tmp_path, "acd_queue_file": _queue_file(tmp_path, "ofice")},
    )
    with pytest.raises(QueueConfigError) as refused:
        Service(settings)
    assert str(refused.value).startswith(f"{tmp_path / 'queues.toml'}: queue 'cards': open_hours: ")
    assert "calendar 'ofice' is defined in no IVR menu" in str(refused.value)


def test_bankcti_serve_says_which_queue_and_calendar(tmp_path: Path) -> None:
    data = tmp_path / "data"
    config = tmp_path / "bankcti.toml"
    queues = _queue_file(tmp_path, "ofice")
    config.write_text(f'data_dir = "{data}"\n\n[acd]\nqueue_file = "{queues}"\n', encoding="utf-8")

    def bankcti(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bankcti", "--config", str(config), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )

    upgraded = bankcti("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    served = bankcti("serve")
    assert served.returncode == 1
    assert "Traceback" not in served.stderr
    assert f"bankcti: {queues}: queue 'cards': open_hours: calendar 'ofice' is defined in no IVR menu" in (
        served.stderr
    )
