"""``BANKCTI_IVR_IGNORE_BUSINESS_HOURS``: the trial switch the README documents opens a closed queue.

The variable is read by :func:`bankcti.settings.load_settings` like every
``BANKCTI_<SECTION>_<KEY>``; the service hands the setting to the ACD's open-hours test
(:func:`bankcti.acd_setup.make_is_open`) and to the IVR's ``test = "open"`` conditions.
On a Sunday the bank menus' ``office`` calendar is closed: a call queued to ``cards``
(``open_hours = "office"``) ends at once with the ``closed`` exit, unless the switch is on.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from acd import Acd, QueueConfig, QueuedCall, QueueExit
from acd.events import BusEvent
from bankcti.acd_setup import make_is_open
from bankcti.settings import load_settings
from ivr import load_menus

REPO = Path(__file__).resolve().parents[2]
SUNDAY_MORNING = datetime(2026, 3, 8, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()


class Sink:
    async def publish(self, event: BusEvent) -> None:
        pass


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "closed"),
        ({"BANKCTI_IVR_IGNORE_BUSINESS_HOURS": "false"}, "closed"),
        ({"BANKCTI_IVR_IGNORE_BUSINESS_HOURS": "true"}, "waiting"),
    ],
)
async def test_the_trial_switch_routes_a_call_outside_business_hours(
    environ: dict[str, str], expected: str
) -> None:
    settings = load_settings(environ=environ)
    menus = load_menus(REPO / "config" / "ivr")
    is_open = make_is_open(lambda: menus, settings.ivr_ignore_business_hours)
    acd = Acd(Sink(), clock=lambda: SUNDAY_MORNING, is_open=is_open)
    acd.add_queue(QueueConfig("cards", open_hours="office"))
    acd.register_agent("anna", "Anna", "PJSIP/1001", ["cards"])
    await acd.set_agent_state("anna", "paused", "break")  # logged in: "no agents" is not the reason
    ticket = await acd.enqueue(QueuedCall("c1", "cards"))
    outcome = "waiting"
    if ticket.offer.done():
        with pytest.raises(QueueExit) as exited:
            ticket.offer.result()
        outcome = exited.value.reason
    assert outcome == expected
