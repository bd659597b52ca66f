"""AMI actions on variables and states: Setvar, Getvar, ExtensionState, ExtensionStateList.

Shapes from the real Asterisk 22 (traces e2 and n, ``tests/fixtures/asterisk``):

* ``Setvar`` → ``Message: Variable Set``; a function write that the function
  refuses (``DEVICE_STATE`` of a non-``Custom:`` device) → ``Variable not
  set``.  ``DEVICE_STATE(Custom:…)`` publishes no ``VarSet``: its
  ``DeviceStateChange``/``ExtensionStatus`` follow the reply.
* ``Getvar`` of a function without ``Channel`` reads it on a dummy channel,
  as ``action_getvar`` does: ``DEVICE_STATE(Custom:agent1)`` → ``NOT_INUSE``.
* ``ExtensionState`` is a *response*, not an event: ``Message: Extension
  Status``, ``Exten``, ``Context``, ``Hint``, ``Status``, ``StatusText``; an
  extension without a hint is still Success, ``Hint:`` empty, ``Status: -1``
  ``Unknown``.
* ``ExtensionStateList`` → ``Extension Statuses will follow``, one
  ``ExtensionStatus`` per hint (``ActionID`` second, no ``Privilege``), then
  ``ExtensionStateListComplete``.
"""

from __future__ import annotations

from cti.simulator.ami.context import ActionContext, ActionHandler
from cti.simulator.hints import extension_status_fields
from cti.simulator.variables import read_function, resolve_variable, write_function

__all__ = ["STATE_ACTIONS"]


async def action_setvar(ctx: ActionContext) -> None:
    name, variable = ctx.header("Channel"), ctx.header("Variable")
    if not variable:
        ctx.error("No variable specified")
        return
    chan = None
    if name:
        chan = ctx.pbx.registry.get(name)
        if chan is None:
            ctx.error("No such channel")
            return
    value = ctx.header_or_none("Value") or ""
    if variable.endswith(")"):
        written = write_function(ctx.pbx, variable, value)
        if written is False:
            ctx.error("Variable not set")
            return
        if written:
            ctx.success("Variable Set")
            return
    ctx.success("Variable Set")
    ctx.pbx.set_var(chan, variable, value)


async def action_getvar(ctx: ActionContext) -> None:
    name, variable = ctx.header("Channel"), ctx.header("Variable")
    if not variable:
        ctx.error("No variable specified")
        return
    if name:
        chan = ctx.pbx.registry.get(name)
        if chan is None:
            ctx.error("No such channel")
            return
        value = resolve_variable(ctx.pbx, chan, variable)
    elif variable.endswith(")"):
        value = read_function(ctx.pbx, None, variable)
    else:
        value = ctx.pbx.globals.get(variable)
    ctx.success(None, [("Variable", variable), ("Value", value or "")])


async def action_extensionstate(ctx: ActionContext) -> None:
    exten = ctx.header("Exten")
    if not exten:
        ctx.error("Extension not specified")
        return
    context = ctx.header("Context") or "default"
    hints = ctx.pbx.hints
    state = hints.state(ctx.pbx, context, exten)
    ctx.success("Extension Status", extension_status_fields(exten, context, hints.get(context, exten), state))


async def action_extensionstatelist(ctx: ActionContext) -> None:
    hints = list(ctx.pbx.hints)
    ctx.list_start("Extension Statuses will follow")
    for hint in hints:
        state = ctx.pbx.hints.state(ctx.pbx, hint.context, hint.exten)
        ctx.list_item(
            [
                ("Event", "ExtensionStatus"),
                *ctx.id_field(),
                *extension_status_fields(hint.exten, hint.context, hint, state),
            ]
        )
    ctx.list_complete("ExtensionStateListComplete", len(hints))


STATE_ACTIONS: dict[str, ActionHandler] = {
    "setvar": action_setvar,
    "getvar": action_getvar,
    "extensionstate": action_extensionstate,
    "extensionstatelist": action_extensionstatelist,
}
