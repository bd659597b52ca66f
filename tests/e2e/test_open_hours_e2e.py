"""Open hours in the running service: a closed queue plays the closed message; a bad calendar is refused.

The ACD test menus of :mod:`acd_kit` get two calendars: ``always`` (7x24)
and ``shut`` (every day 00:00–24:00 UTC, but yesterday, today and tomorrow
are holidays: closed whenever the test runs).  Queue ``general`` opens by
``always``, queue ``over`` by ``shut``.  The caller presses 1 (general) or
3 (over); agent ann serves both, logged in but paused, so the only reason
to refuse a call is the hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from acd_kit import MENU, QUEUES, SPEED, AgentSpec, Recorder, seed

from bankcti.bus import InProcessBus
from bankcti.settings import load_settings
from bankcti.stack import EmbeddedStack
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, session_factory
from cti.simulator import CallerScript

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _calendars() -> str:
    today = datetime.now(UTC).date()
    holidays = ", ".join(str(today + timedelta(days=d)) for d in (-1, 0, 1))
    hours = ", ".join(f'{day} = "00:00-24:00"' for day in DAYS)
    return (
        "\n[calendars.always]\nalways_open = true\n"
        f'\n[calendars.shut]\ntimezone = "UTC"\nhours = {{ {hours} }}\nholidays = [{holidays}]\n'
    )


def _config(tmp_path: Path) -> tuple[Path, Path]:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "acd.toml").write_text(MENU + _calendars(), encoding="utf-8")
    queues = QUEUES.replace("[queues.general]\n", '[queues.general]\nopen_hours = "always"\n')
    queues = queues.replace("[queues.over]\n", '[queues.over]\nopen_hours = "shut"\n')
    queue_file = tmp_path / "queues.toml"
    queue_file.write_text(queues, encoding="utf-8")
    return menus, queue_file


async def test_a_call_to_a_closed_queue_hears_the_closed_message(db_url: str, tmp_path: Path) -> None:
    await seed(db_url, [AgentSpec("ann", "1001", ("general", "over"))], [])
    engine = create_engine(db_url)
    try:
        await AgentDirectory(session_factory(engine)).create_agent(
            "root", "Root", "pw-root", extension="9001", role="admin"
        )
    finally:
        await engine.dispose()
    menus, queue_file = _config(tmp_path)
    settings = load_settings(
        environ={},
        overrides={
            "database_url": db_url,
            "data_dir": tmp_path / "data",
            "ivr_menu_dir": menus,
            "ivr_entry_menu": "acd",
            "acd_queue_file": queue_file,
            "acd_hold_poll_ms": 50,
            "jobs_enabled": False,
        },
    )
    bus = InProcessBus()
    recorder = Recorder(bus)
    async with EmbeddedStack(settings, speed=SPEED, bus=bus) as stack:
        assert stack.simulator is not None and stack.service is not None
        try:
            await stack.service.acd.set_agent_state("ann", "paused", "break")
            open_call = await stack.simulator.place_call(CallerScript("+8613800000001", keys=["1"]))
            joined = await recorder.transition(open_call.linkedid, "joined")
            assert joined.queue == "general" and "refused" not in joined.data
            await open_call.hangup()
            await open_call.wait_finished(timeout=20)

            closed_call = await stack.simulator.place_call(CallerScript("+8613800000002", keys=["3"]))
            refused = await recorder.transition(closed_call.linkedid, "joined")
            assert refused.queue == "over" and refused.data["refused"] == "closed"
            await closed_call.wait_finished(timeout=20)  # the service plays the message and ends the call
            assert any(c.startswith("STREAM FILE bankcti/closed") for c in closed_call.agi_commands)
            record = await stack.service.interactions.get(closed_call.linkedid)
            assert record is not None and record.outcome == "closed" and record.queue == "over"

            # An admin cannot point a queue at a calendar no menu defines: refused, nothing changed.
            async with httpx.AsyncClient(base_url=stack.http_url, timeout=10) as root:
                login = await root.post("/api/login", json={"login": "root", "password": "pw-root"})
                root.headers["Authorization"] = f"Bearer {login.json()['token']}"
                bad = await root.put("/api/queues/general", json={"settings": {"open_hours": "nights"}})
            assert bad.status_code == 422, bad.text
            assert "open_hours: calendar 'nights' is defined in no IVR menu" in bad.json()["detail"]
            assert stack.service.acd.queue_config("general").open_hours == "always"
        finally:
            await recorder.close()
