"""The IVR: menu files (``config/ivr/*.toml``) and the engine that walks callers through them.

Typical use by the call flow::

    menus = load_menus(settings.ivr_menu_dir)          # MenuError: file:line: reason
    engine = IvrEngine(menus, customer_directory, region=settings.phone_region, selfservice=selfservice)
    result = await engine.run(channel, entry="main", on_step=publish_step, call_id=linkedid)
    if result.outcome == "routed":
        ticket = await acd.enqueue(...)
"""

from ivr.calendar import BusinessCalendar
from ivr.callerid import to_e164
from ivr.context import AuthLevel, CallerDirectory, End, Goto, IvrContext, IvrResult, Route, Transition
from ivr.engine import IvrEngine
from ivr.errors import MenuError, UnknownMenu
from ivr.handlers import DEFAULT_HANDLERS, Handler
from ivr.loader import load_menu_file, load_menus
from ivr.menus import Menu, MenuSet
from ivr.nodes import (
    CollectNode,
    GotoNode,
    HangupNode,
    IdentifyNode,
    LanguageNode,
    MenuNode,
    Node,
    PlayNode,
    QueueNode,
    SayNode,
)
from ivr.nodes_bank import NODE_TYPES, ActionNode, ConditionNode, VerifyNode
from ivr.ports import CallbackHandOff, CustomerCards, SelfServicePort

__all__ = [
    "DEFAULT_HANDLERS",
    "NODE_TYPES",
    "ActionNode",
    "AuthLevel",
    "BusinessCalendar",
    "CallbackHandOff",
    "CallerDirectory",
    "CollectNode",
    "ConditionNode",
    "CustomerCards",
    "End",
    "Goto",
    "GotoNode",
    "Handler",
    "HangupNode",
    "IdentifyNode",
    "IvrContext",
    "IvrEngine",
    "IvrResult",
    "LanguageNode",
    "Menu",
    "MenuError",
    "MenuNode",
    "MenuSet",
    "Node",
    "PlayNode",
    "QueueNode",
    "Route",
    "SayNode",
    "SelfServicePort",
    "Transition",
    "UnknownMenu",
    "VerifyNode",
    "load_menu_file",
    "load_menus",
    "to_e164",
]
