"""Listen, whisper and barge from the console, down to the ChanSpy the PBX runs (simulator over TCP).

Sue supervises anna (see :mod:`test_call_control`).  For each mode she asks
``POST /api/supervisor/agents/anna/spy``; her phone (PJSIP/2001) is rung
into ``ChanSpy`` and the PBX's own channel list (``CoreShowChannels`` over
AMI) must show it running ``ChanSpy`` on anna's channel with the mode's
options: ``q`` (listen: no beep), ``qw`` (whisper to the agent), ``qB``
(barge: talk to both) — the options appear in no event, only in what the
channel runs.  Sue hangs up between modes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_call_control import _seed, connected_call, seen, service, until

from cti.ami.message import AmiMessage

OPTIONS = {"listen": "q", "whisper": "qw", "barge": "qB"}


async def test_each_mode_runs_chanspy_with_its_options(db_url: str, tmp_path: Path) -> None:
    await _seed(db_url)
    async with service(db_url, tmp_path) as (stack, users):
        anna, sue = users["anna"], users["sue"]
        await anna.console.set_state("available")
        call, _ = await connected_call(stack, anna)
        assert stack.service is not None and stack.service.ami is not None
        ami = stack.service.ami
        await until(lambda: seen(call, "BridgeEnter", Channel="PJSIP/1001-")() is not None, "anna bridged")
        bridged = seen(call, "BridgeEnter", Channel="PJSIP/1001-")()
        assert bridged is not None
        agent_channel = bridged["Channel"]

        async def spying() -> list[AmiMessage]:
            channels = await ami.action_list("CoreShowChannels")
            return [c for c in channels if (c.get("Channel") or "").startswith("PJSIP/2001-")]

        for mode, options in OPTIONS.items():
            answer = await sue.post("/api/supervisor/agents/anna/spy", {"mode": mode})
            assert answer.status_code == 200, answer.text
            assert answer.json()["action"] == f"spy-{mode}"
            found: list[AmiMessage] = []
            for _ in range(300):  # bounded: ~6 s for the phone to answer and ChanSpy to start
                found = [c for c in await spying() if c.get("Application") == "ChanSpy"]
                if found:
                    break
                await asyncio.sleep(0.02)
            [spy] = found
            assert spy["ApplicationData"] == f"{agent_channel},{options}", mode
            await ami.action("Hangup", Channel=spy["Channel"])
            for _ in range(300):
                if not await spying():
                    break
                await asyncio.sleep(0.02)
            assert not await spying(), f"{mode}: sue's spying channel is still up"
        await call.hangup()
        await call.wait_finished(timeout=20)
