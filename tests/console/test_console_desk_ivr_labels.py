"""``GET /api/desk/config`` sends the IVR nodes' descriptions the agent's screen shows a caller's path in.

They come from the running menus (``ivr_labels``), read at each request, so a
menu reload shows on the next page load; a console without menus sends none.
"""

from __future__ import annotations

from crm_harness import CrmConsoleFactory, ok


async def test_desk_config_carries_the_menus_node_labels(make_crm_console: CrmConsoleFactory) -> None:
    labels = {"vip-check": ("VIP check", "VIP 识别")}
    console = await make_crm_console(ivr_labels=lambda: labels)
    config = ok(await console.call("GET", "/api/desk/config", "bob"))
    assert config["ivr_nodes"] == {"vip-check": {"label": "VIP check", "label_zh": "VIP 识别"}}

    labels = {"welcome": ("Welcome", "欢迎语")}  # the menus were reloaded
    config = ok(await console.call("GET", "/api/desk/config", "bob"))
    assert config["ivr_nodes"] == {"welcome": {"label": "Welcome", "label_zh": "欢迎语"}}


async def test_without_menus_there_are_no_labels(make_crm_console: CrmConsoleFactory) -> None:
    console = await make_crm_console()
    assert ok(await console.call("GET", "/api/desk/config", "bob"))["ivr_nodes"] == {}
    assert (await console.call("GET", "/api/desk/config", None)).status_code == 401
