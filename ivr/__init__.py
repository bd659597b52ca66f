"""The IVR: menu files (``config/ivr/*.toml``) and the engine that walks callers through them.

Typical use by the call flow::

    menus = load_menus(settings.ivr_menu_dir)          # MenuError: file:line: reason
    engine = IvrEngine(menus, customer_directory, region=settings.phone_region)
    result = await engine.run(channel, entry="main", on_step=publish_step)
    if result.outcome == "routed":
        ticket = await acd.enqueue(...)
"""

from ivr.callerid import to_e164
from ivr.context import CallerDirectory, End, Goto, IvrContext, IvrResult, Route, Transition
from ivr.engine import IvrEngine
from ivr.errors import MenuError, UnknownMenu
from ivr.handlers import DEFAULT_HANDLERS, Handler
from ivr.loader import load_menu_file, load_menus
from ivr.menus import Menu, MenuSet
from ivr.nodes import NODE_TYPES, GotoNode, HangupNode, IdentifyNode, MenuNode, Node, PlayNode, QueueNode

__all__ = [
    "DEFAULT_HANDLERS",
    "NODE_TYPES",
    "CallerDirectory",
    "End",
    "Goto",
    "GotoNode",
    "Handler",
    "HangupNode",
    "IdentifyNode",
    "IvrContext",
    "IvrEngine",
    "IvrResult",
    "Menu",
    "MenuError",
    "MenuNode",
    "MenuSet",
    "Node",
    "PlayNode",
    "QueueNode",
    "Route",
    "Transition",
    "UnknownMenu",
    "load_menu_file",
    "load_menus",
    "to_e164",
]
