"""Node descriptions (label / label_zh): what the agent's screen shows for a caller's IVR steps.

The bank's menus describe every node in both languages; a bad description is
refused with file:line: reason like any other menu error; where two menus use
the same node name, the entry menu's description wins.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import MenuError, load_menus

REPO = Path(__file__).resolve().parents[2]

MENU = """\
entry = "welcome"

[nodes.welcome]
type = "play"
{labels}
prompts = ["bankcti/welcome"]
next = "agent"

[nodes.agent]
type = "queue"
label = "Agent"
label_zh = "人工服务"
queue = "general"
"""


def test_every_node_of_the_shipped_menus_is_described_in_both_languages() -> None:
    menus = load_menus(REPO / "config" / "ivr")
    for menu in menus:
        for name, node in menu.nodes.items():
            assert node.label and node.label_zh, f"{menu.name}: node {name!r} has no label / label_zh"
    labels = menus.node_labels("bank")
    assert labels["vip-check"] == ("VIP check", "VIP 识别")
    assert labels["agent"] == ("Agent requested", "转人工服务")


def test_the_entry_menus_description_wins_a_name_clash(tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(MENU.format(labels='label = "Hello"\nlabel_zh = "您好"'), "utf-8")
    other = MENU.format(labels='label = "Welcome"\nlabel_zh = "欢迎"').replace('"general"', '"cards"')
    (tmp_path / "second.toml").write_text(other, "utf-8")
    menus = load_menus(tmp_path)
    assert menus.node_labels("second")["welcome"] == ("Welcome", "欢迎")
    assert menus.node_labels("main")["welcome"] == ("Hello", "您好")
    assert menus.node_labels()["welcome"] == ("Hello", "您好")  # no entry menu: by menu name


def test_undescribed_nodes_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(MENU.format(labels=""), "utf-8")
    assert load_menus(tmp_path).node_labels("main") == {"agent": ("Agent", "人工服务")}


BAD = {
    "label without label_zh": ('label = "Hello"', 3, "node 'welcome': label_zh missing"),
    "label_zh without label": ('label_zh = "您好"', 3, "node 'welcome': label missing"),
    "blank label": ('label = "  "\nlabel_zh = "您好"', 5, "node 'welcome': label: must not be blank"),
    "too long": (f'label = "{"x" * 81}"\nlabel_zh = "您好"', 5, "node 'welcome': label: at most 80"),
    "control character": (
        'label = "Hi"\nlabel_zh = "您\\n好"',
        6,
        "node 'welcome': label_zh: must not contain",
    ),
    "not a string": (
        'label = 3\nlabel_zh = "您好"',
        5,
        "node 'welcome': label: Input should be a valid string",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_description_is_refused_with_file_line_reason(tmp_path: Path, case: str) -> None:
    labels, line, reason = BAD[case]
    path = tmp_path / "main.toml"
    path.write_text(MENU.format(labels=labels), "utf-8")
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert (caught.value.path, caught.value.line) == (path, line), str(caught.value)
    assert caught.value.reason.startswith(reason), caught.value.reason
