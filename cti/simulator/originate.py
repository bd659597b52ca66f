"""AMI ``Originate``: call a device, then run a dialplan location or an application on it.

``Channel: Local/s@ivr-in`` creates a Local pair whose ``;2`` runs
``ivr-in,s,1``; once ``;2`` answers, ``;1`` is answered, ``OriginateResponse``
(``Reason: 4``) is published and ``;1`` runs the action's
``Context``/``Exten``/``Priority`` (or ``Application``/``Data``) — the lab's
way of simulating an inbound customer (traces b, c, g).  ``PJSIP/<name>``
rings a configured :class:`~cti.simulator.AgentPhone`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from cti.simulator.apps.basic import find_app
from cti.simulator.apps.legs import OutboundLeg, create_leg
from cti.simulator.channels import Channel, ChannelState
from cti.simulator.core import Pbx

__all__ = ["OriginateRequest", "originate", "parse_callerid"]

log = logging.getLogger(__name__)

REASON_FAILURE = 0
REASON_HANGUP = 1
REASON_RINGING = 3
REASON_ANSWERED = 4
REASON_BUSY = 5
REASON_CONGESTION = 8


def parse_callerid(text: str) -> tuple[str | None, str | None]:
    """``"Name" <number>`` → ``(number, name)``; missing parts are ``None``."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, rest = text.partition("<")
        name = name.strip().strip('"').strip()
        number = rest[:-1].strip()
        return number or None, name or None
    if text.replace("+", "", 1).isdigit():
        return text, None
    return None, text.strip('"') or None


@dataclass
class OriginateRequest:
    """The fields of an AMI ``Originate`` the simulator honours."""

    channel: str
    context: str = ""
    exten: str = ""
    priority: int = 1
    application: str = ""
    data: str = ""
    caller_num: str | None = None
    caller_name: str | None = None
    timeout_ms: int = 30000
    variables: list[tuple[str, str]] = field(default_factory=list)
    action_id: str | None = None
    channel_id: str | None = None
    other_channel_id: str | None = None
    publish_response: bool = True


async def originate(pbx: Pbx, req: OriginateRequest) -> bool:
    """Place the call; True once answered and handed to its dialplan/app."""
    leg = create_leg(
        pbx,
        None,
        req.channel,
        app_label="AppDial2",
        cid=(req.caller_num, req.caller_name),
        uniqueids=(req.channel_id, req.other_channel_id),
        peer_number=False,
    )
    if not isinstance(leg, OutboundLeg):
        _respond(pbx, req, False, REASON_FAILURE, None)
        return False
    one = leg.channel
    for name, value in req.variables:
        pbx.set_var(one, name, value)
        if leg.far is not one:
            pbx.set_var(leg.far, name, value)
    pbx.emit_for(one, pbx.events.dial_begin(None, one, leg.dialstring))
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[bool] = loop.create_future()

    def on_answer(channel: Channel) -> None:
        channel.answer_hook = None
        channel.on_answer = None
        if answered.done():
            return
        answered.set_result(True)
        _respond(pbx, req, True, REASON_ANSWERED, channel)
        pbx.answer(channel)
        pbx.emit_for(channel, pbx.events.dial_end(None, channel, "ANSWER"))
        _run_after_answer(pbx, channel, req)

    def on_hangup(_channel: Channel) -> None:
        if not answered.done():
            answered.set_result(False)

    if leg.far is one:
        one.on_answer = on_answer
    else:
        one.answer_hook = on_answer
    # The called device rings: DialState RINGING without a calling channel (trace n).
    one.on_ringing = lambda channel: pbx.emit_for(channel, pbx.events.dial_state(None, channel, "RINGING"))
    one.hangup_listeners.append(on_hangup)
    leg.start(pbx)
    timer = None
    if req.timeout_ms > 0:
        timer = loop.call_later(pbx.scaled(req.timeout_ms / 1000), on_hangup, one)
    try:
        ok = await answered
    finally:
        if timer is not None:
            timer.cancel()
        if on_hangup in one.hangup_listeners:
            one.hangup_listeners.remove(on_hangup)
    one.on_ringing = None
    if ok:
        return True
    one.answer_hook = None
    one.on_answer = None
    reason = _failure_reason(one)
    status = {REASON_BUSY: "BUSY", REASON_CONGESTION: "CONGESTION"}.get(reason, "NOANSWER")
    if not one.gone:
        pbx.emit_for(one, pbx.events.dial_end(None, one, status))
    _respond(pbx, req, False, reason, one)
    pbx.destroy(one, one.hangup_cause if one.hangup_cause is not None else 0)
    return False


def _failure_reason(channel: Channel) -> int:
    if channel.dead:
        return {17: REASON_BUSY, 34: REASON_CONGESTION}.get(channel.hangup_cause or 0, REASON_HANGUP)
    return REASON_RINGING if channel.state == ChannelState.RINGING else REASON_FAILURE


def _respond(pbx: Pbx, req: OriginateRequest, success: bool, reason: int, channel: Channel | None) -> None:
    if not req.publish_response:
        return
    message = pbx.events.originate_response(
        req.action_id,
        success,
        channel.name if channel is not None else req.channel,
        req.context,
        req.exten,
        reason,
        channel if success or channel is not None else None,
        req.caller_num,
        req.caller_name,
    )
    pbx.emit(message, channel.linkedid if channel is not None else None)


def _run_after_answer(pbx: Pbx, channel: Channel, req: OriginateRequest) -> None:
    if req.application:
        pbx.spawn(_run_app(pbx, channel, req), f"originate-app-{channel.name}")
        return
    if not pbx.has_extension(req.context, req.exten):
        log.info("sim.originate_no_extension", extra={"context": req.context, "exten": req.exten})
    pbx.run_dialplan(channel, req.context, req.exten, req.priority)


async def _run_app(pbx: Pbx, channel: Channel, req: OriginateRequest) -> None:
    """Run the originated application on the answered channel, then hang it up."""
    app = find_app(req.application)
    if app is not None:
        channel.app, channel.app_data = req.application, req.data
        await app(pbx, channel, req.data)
    else:
        log.warning("sim.originate_unknown_app", extra={"application": req.application})
    await pbx.end_pbx(channel)
