"""Our calls and agent states as Asterisk ``queue_log`` lines, for QueueMetrics or Asternic.

Each line is ``epoch|callid|queue|agent|EVENT|data1|data2|…`` with the data
fields Asterisk's app_queue writes (docs.asterisk.org, "Queue Logs"):

=================  ==========================================  =====================
queue event        line                                        data
=================  ==========================================  =====================
joined             ENTERQUEUE                                  url|callerid
no_answer          RINGNOANSWER                                ringtime (ms)
ring_cancelled     RINGCANCELED                                ringtime (ms)
connected          CONNECT                                     holdtime|bridged uniqueid|ringtime
completed          COMPLETECALLER / COMPLETEAGENT (by)         holdtime|calltime|origposition
abandoned          ABANDON                                     position|origposition|waittime
max_wait           EXITWITHTIMEOUT                             position|origposition|waittime
overflowed (move)  EXITWITHTIMEOUT, then ENTERQUEUE in target  position|origposition|waittime
moved              EXITWITHTIMEOUT, then ENTERQUEUE in target  position|origposition|waittime
callback_requested EXITWITHKEY                                 key|position|origposition|waittime
transferred        TRANSFER                                    extension|context|holdtime|calltime|origpos
=================  ==========================================  =====================

Asterisk's "holdtime" is the caller's wait in the queue (not agent hold);
"calltime" the talk time; ``origpos`` above is origposition.  Agent states give AGENTLOGIN (channel),
AGENTLOGOFF (channel|logintime), PAUSE (reason) and UNPAUSE (reason); they
belong to no call or queue, so callid and queue are ``NONE`` as Asterisk
writes for member events.  The agent field is ``Agent/<login>``; the
channel is the agent's device.  Offers, widened overflows and callback
attempts have no queue_log counterpart and are left out.  No field may hold
a ``|`` or a line break: such characters in names are replaced by ``_``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Agent, Interaction, QueueEvent
from crm_core.stats.agents import load_events
from crm_core.stats.intervals import ReportRange

__all__ = ["CALLBACK_KEY", "NONE", "QueueLogLine", "queue_log_lines"]

NONE = "NONE"
#: The "key" of EXITWITHKEY for a caller who left the queue with a callback request.
CALLBACK_KEY = "1"
TRANSFER_CONTEXT = "bankcti"
_UNSAFE = re.compile(r"[|\r\n]")


def _clean(value: object) -> str:
    return _UNSAFE.sub("_", "" if value is None else str(value))


def _secs(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "0"
    return str(round(float(value)))


@dataclass(frozen=True)
class QueueLogLine:
    """One queue_log line; :meth:`text` renders it."""

    at: datetime
    call_id: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]

    def text(self) -> str:
        head = [str(int(self.at.timestamp())), self.call_id, self.queue, self.agent, self.event]
        return "|".join(_clean(part) for part in (*head, *self.data))


def _agent(login: str | None) -> str:
    return f"Agent/{login}" if login else NONE


class _CallLog:
    """Turns one call's queue events into lines, remembering what later lines need."""

    def __init__(self, call_id: str, caller: str) -> None:
        self.call_id = call_id
        self.caller = caller
        self.origposition: dict[str, int] = {}
        self.holdtime: dict[str, float] = {}  # per agent: the wait of the call they answered
        self.connected_at: dict[str, datetime] = {}
        self.lines: list[QueueLogLine] = []

    def _line(self, at: datetime, queue: str | None, login: str | None, event: str, *data: str) -> None:
        self.lines.append(QueueLogLine(at, self.call_id, queue or NONE, _agent(login), event, data))

    def _exit(self, event: QueueEvent, name: str, data: dict[str, Any], *prefix: str) -> None:
        queue = event.queue or NONE
        position = data.get("position", data.get("original_position", 1))
        orig = data.get("original_position", self.origposition.get(queue, position))
        self._line(
            event.at,
            queue,
            None,
            name,
            *prefix,
            _secs(position),
            _secs(orig),
            _secs(data.get("wait_seconds")),
        )

    def step(self, event: QueueEvent) -> None:
        data: dict[str, Any] = dict(event.data or {})
        kind, queue, login = event.event, event.queue, event.agent_login
        if kind == "joined":
            self.origposition[queue or NONE] = int(data.get("position") or 1)
            self._line(event.at, queue, None, "ENTERQUEUE", "", self.caller)
        elif kind == "no_answer":
            self._line(
                event.at,
                queue,
                login,
                "RINGNOANSWER",
                str(round(float(data.get("ring_seconds") or 0) * 1000)),
            )
        elif kind == "ring_cancelled":
            # The caller hung up while this member rang; app_queue logs it before the ABANDON.
            ring_ms = str(round(float(data.get("ring_seconds") or 0) * 1000))
            self._line(event.at, queue, login, "RINGCANCELED", ring_ms)
        elif kind == "connected":
            wait = float(data.get("wait_seconds") or 0)
            self.holdtime[login or NONE] = wait
            self.connected_at[login or NONE] = event.at
            self._line(
                event.at, queue, login, "CONNECT", _secs(wait), self.call_id, _secs(data.get("ring_seconds"))
            )
        elif kind == "completed":
            name = "COMPLETEAGENT" if data.get("by") == "agent" else "COMPLETECALLER"
            hold = self.holdtime.get(login or NONE, 0.0)
            orig = self.origposition.get(queue or NONE, 1)
            self._line(event.at, queue, login, name, _secs(hold), _secs(data.get("talk_seconds")), str(orig))
        elif kind == "abandoned":
            self._exit(event, "ABANDON", data)
        elif kind == "max_wait":
            self._exit(event, "EXITWITHTIMEOUT", data)
        elif kind in {"overflowed", "moved"} and (kind == "moved" or data.get("mode") == "move"):
            if not any(
                line.event == "EXITWITHTIMEOUT" and line.queue == (queue or NONE) for line in self.lines[-1:]
            ):
                self._exit(event, "EXITWITHTIMEOUT", {"wait_seconds": data.get("after_seconds"), **data})
            target = data.get("to_queue")
            if isinstance(target, str) and target:
                self.origposition[target] = 1
                self._line(event.at, target, None, "ENTERQUEUE", "", self.caller)
        elif kind == "callback_requested":
            self._exit(event, "EXITWITHKEY", data, CALLBACK_KEY)
        elif kind == "transferred":
            hold = self.holdtime.get(login or NONE, 0.0)
            orig = self.origposition.get(queue or NONE, 1)
            self._line(
                event.at,
                queue,
                login,
                "TRANSFER",
                _clean(data.get("to")),
                TRANSFER_CONTEXT,
                _secs(hold),
                _secs((event.at - self.connected_at.get(login or NONE, event.at)).total_seconds()),
                str(orig),
            )


def _agent_lines(
    events: Sequence[Any], devices: dict[str, str], report: ReportRange
) -> Iterator[QueueLogLine]:
    previous: dict[str, Any] = {}
    logged_in_at: dict[str, datetime] = {}
    for event in events:
        login = event.agent_login
        before = previous.get(login)
        previous[login] = event
        was = before.state if before is not None else "logged_out"
        if was == "logged_out" and event.state != "logged_out":
            logged_in_at[login] = event.at
        if not report.contains(event.at):
            continue  # the state before the range: only what the first change inside it means
        channel = devices.get(login, f"Local/{login}")
        agent = _agent(login)
        if event.state == "logged_out" and was != "logged_out":
            since = logged_in_at.pop(login, None)
            seconds = str(int((event.at - since).total_seconds())) if since is not None else "0"
            yield QueueLogLine(event.at, NONE, NONE, agent, "AGENTLOGOFF", (channel, seconds))
            continue
        if was == "logged_out" and event.state != "logged_out":
            yield QueueLogLine(event.at, NONE, NONE, agent, "AGENTLOGIN", (channel,))
        if event.state == "paused" and was != "paused":
            yield QueueLogLine(event.at, NONE, NONE, agent, "PAUSE", (event.reason or "",))
        elif before is not None and was == "paused" and event.state != "paused":
            yield QueueLogLine(event.at, NONE, NONE, agent, "UNPAUSE", (before.reason or "",))


async def queue_log_lines(
    session: AsyncSession,
    report: ReportRange,
    *,
    queues: Sequence[str] | None = None,
    agents: Sequence[str] | None = None,
) -> list[QueueLogLine]:
    """Every queue_log line of the range, in time order.

    ``queues`` keeps those queues' call lines; ``agents`` keeps those agents'
    state lines (call lines are queue figures and stay whole).
    """
    query = select(QueueEvent).where(QueueEvent.at >= report.start, QueueEvent.at < report.end)
    if queues is not None:
        query = query.where(QueueEvent.queue.in_(list(queues)))
    events = (await session.scalars(query.order_by(QueueEvent.call_id, QueueEvent.at, QueueEvent.id))).all()
    call_ids = sorted({e.call_id for e in events})
    callers: dict[str, str] = {}
    for index in range(0, len(call_ids), 500):
        rows = await session.execute(
            select(Interaction.call_id, Interaction.caller_e164, Interaction.caller_number).where(
                Interaction.call_id.in_(call_ids[index : index + 500])
            )
        )
        for call_id, e164, number in rows:
            if call_id is not None:
                callers[call_id] = e164 or number or ""
    logs: dict[str, _CallLog] = {}
    for event in events:
        log = logs.get(event.call_id)
        if log is None:
            log = logs[event.call_id] = _CallLog(event.call_id, callers.get(event.call_id, ""))
        log.step(event)
    lines = [line for log in logs.values() for line in log.lines]
    devices = {login: device for login, device in (await session.execute(select(Agent.login, Agent.device)))}
    agent_events = await load_events(session, report, agents)
    lines.extend(_agent_lines(agent_events, devices, report))
    lines.sort(key=lambda line: line.at)
    return lines
