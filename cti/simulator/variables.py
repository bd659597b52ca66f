"""Variable and dialplan-function lookup: ``GET VARIABLE``, ``${...}`` expansion.

Mirrors ``pbx_retrieve_variable`` / ``ast_func_read`` for what the service
uses: built-ins (``UNIQUEID``, ``CHANNEL``, ``EXTEN``...), channel then
global variables, and the functions ``CHANNEL()``, ``CALLERID()``,
``CONNECTEDLINE()``, ``GLOBAL()`` and ``DB()``.
"""

from __future__ import annotations

import time

from cti.simulator.channels import Channel
from cti.simulator.core import Pbx
from cti.simulator.events import callerid_all

__all__ = ["resolve_variable", "substitute"]


def _channel_function(channel: Channel, item: str) -> str | None:
    values = {
        "name": channel.name,
        "uniqueid": channel.uniqueid,
        "linkedid": channel.linkedid,
        "state": channel.state.desc,
        "language": channel.language,
        "accountcode": channel.accountcode,
        "context": channel.context,
        "exten": channel.exten,
        "channeltype": channel.tech,
    }
    return values.get(item.lower())


def _callerid_function(channel: Channel, item: str) -> str | None:
    item = item.lower()
    if item in ("num", "number"):
        return channel.caller_num or ""
    if item == "name":
        return channel.caller_name or ""
    if item == "all":
        return callerid_all(channel)
    if item == "pres":
        return "allowed_not_screened" if channel.caller_pres == 0 else "prohib_not_screened"
    if item == "dnid":
        return channel.dnid or ""
    return None


def _function(pbx: Pbx, channel: Channel, name: str, argument: str) -> str | None:
    name = name.upper()
    if name == "CHANNEL":
        return _channel_function(channel, argument)
    if name == "CALLERID":
        return _callerid_function(channel, argument)
    if name == "CONNECTEDLINE":
        if argument.lower() in ("num", "number"):
            return channel.connected_num or ""
        if argument.lower() == "name":
            return channel.connected_name or ""
        return None
    if name == "GLOBAL":
        return pbx.globals.get(argument, "")
    if name == "DB":
        family, _, key = argument.partition("/")
        return pbx.database.get((family, key), "")
    return None


def resolve_variable(pbx: Pbx, channel: Channel, name: str) -> str | None:
    """Value of a variable or ``FUNC(arg)``; ``None`` when unset/unknown."""
    if name.endswith(")") and "(" in name:
        func, _, argument = name[:-1].partition("(")
        return _function(pbx, channel, func, argument)
    builtins = {
        "CHANNEL": channel.name,
        "UNIQUEID": channel.uniqueid,
        "CONTEXT": channel.context,
        "EXTEN": channel.exten,
        "PRIORITY": str(channel.priority),
        "EPOCH": str(int(time.time())),
    }
    if name in builtins:
        return builtins[name]
    if name == "HANGUPCAUSE" and channel.hangup_cause is not None:
        return str(channel.hangup_cause)
    value = channel.variables.get(name)
    if value is not None:
        return value
    return pbx.globals.get(name)


def substitute(pbx: Pbx, channel: Channel, text: str) -> str:
    """Expand ``${NAME}`` and ``${FUNC(args)}``, nested ones included."""
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                if text.startswith("${", j):
                    depth += 1
                    j += 2
                    continue
                if text[j] == "}":
                    depth -= 1
                j += 1
            if depth:
                out.append(text[i:])
                break
            inner = substitute(pbx, channel, text[i + 2 : j - 1])
            out.append(resolve_variable(pbx, channel, inner) or "")
            i = j
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
