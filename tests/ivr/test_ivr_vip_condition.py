"""The ``vip`` condition: the CRM's VIP flag, never a list of tiers written in the menu."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ivr_nodes import BASE

from ivr import ConditionNode, MenuError, load_menus

VIP_CHECK = BASE.replace('test = "open"\ncalendar = "office"', 'test = "vip"')


def test_a_vip_condition_loads_without_values(tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(VIP_CHECK, encoding="utf-8")
    node = load_menus(tmp_path).get("main").node("hours")
    assert isinstance(node, ConditionNode) and node.test == "vip" and node.values == []


@pytest.mark.parametrize(
    "extra", ['values = ["private", "vip"]  # <-', 'calendar = "office"  # <-'], ids=["values", "calendar"]
)
def test_a_vip_condition_names_no_tiers(tmp_path: Path, extra: str) -> None:
    text = VIP_CHECK.replace('test = "vip"', f'test = "vip"\n{extra}')
    (tmp_path / "main.toml").write_text(text, encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert "test 'vip' takes no 'values' and no 'calendar'" in caught.value.reason
    assert "analytics.vip_tiers" in caught.value.reason
    assert caught.value.line is not None
