"""Variable and dialplan-function lookup: ``GET VARIABLE``, ``${...}`` expansion.

Mirrors ``pbx_retrieve_variable`` / ``ast_func_read`` for what the service
uses: built-ins (``UNIQUEID``, ``CHANNEL``, ``EXTEN``...), channel then
global variables, and the functions ``CHANNEL()``, ``CALLERID()``,
``CONNECTEDLINE()``, ``GLOBAL()``, ``DB()``, ``DEVICE_STATE()`` and
``EXTENSION_STATE()`` (:mod:`cti.simulator.hints`); ``ast_func_write`` for
``DEVICE_STATE(Custom:...)``.
"""

from __future__ import annotations

import time

from cti.simulator.channels import Channel
from cti.simulator.core import Pbx
from cti.simulator.events import callerid_all
from cti.simulator.hints import (
    device_state_name_of,
    extension_state_word,
    is_custom_device,
    set_custom_device_state,
)

__all__ = ["read_function", "resolve_variable", "substitute", "write_function"]


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


def _function(pbx: Pbx, channel: Channel | None, name: str, argument: str) -> str | None:
    name = name.upper()
    if name == "DEVICE_STATE":
        return device_state_name_of(pbx, argument)
    if name == "EXTENSION_STATE":
        exten, _, context = argument.partition("@")
        return extension_state_word(pbx.hints.state(pbx, context or "default", exten))
    if name == "GLOBAL":
        return pbx.globals.get(argument, "")
    if name == "DB":
        family, _, key = argument.partition("/")
        return pbx.database.get((family, key), "")
    if channel is None:
        return None
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
    return None


def read_function(pbx: Pbx, channel: Channel | None, expression: str) -> str | None:
    """``ast_func_read`` of ``FUNC(arg)``; without a channel (AMI ``Getvar`` with no
    ``Channel``, Asterisk's dummy channel) only the functions that need none answer."""
    func, _, argument = expression.removesuffix(")").partition("(")
    return _function(pbx, channel, func.strip(), argument)


def write_function(pbx: Pbx, expression: str, value: str) -> bool | None:
    """``ast_func_write`` of the writable functions the simulator implements.

    ``True`` when written, ``False`` when the function refused (``DEVICE_STATE``
    of anything but a ``Custom:`` device), ``None`` when *expression* is no
    such function (the caller handles it as before).
    """
    func, _, argument = expression.removesuffix(")").partition("(")
    if func.strip().upper() != "DEVICE_STATE":
        return None
    if not is_custom_device(argument):
        return False
    set_custom_device_state(pbx, argument, value)
    return True


def resolve_variable(pbx: Pbx, channel: Channel, name: str) -> str | None:
    """Value of a variable or ``FUNC(arg)``; ``None`` when unset/unknown."""
    if name.endswith(")") and "(" in name:
        return read_function(pbx, channel, name)
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
    if name == "HANGUPCAUSE":
        # pbx_retrieve_variable's builtin: the channel's cause, 0 while it has none (trace i2).
        return str(channel.hangup_cause or 0)
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
