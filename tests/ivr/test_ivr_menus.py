"""Menu files: the default menu loads; each kind of bad file is refused with file:line: reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import (
    GotoNode,
    MenuError,
    MenuNode,
    PlayNode,
    UnknownMenu,
    load_menu_file,
    load_menus,
)
from ivr.tomlpos import KeyLines

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
entry = "welcome"

[nodes.welcome]
type = "play"
prompts = ["bankcti/welcome"]
next = "menu"

[nodes.menu]
type = "menu"
prompt = "bankcti/main-menu"
choices = { "1" = "accounts", "0" = "agent" }

[nodes.accounts]
type = "queue"
queue = "accounts"

[nodes.agent]
type = "queue"
queue = "general"
"""


def write(directory: Path, text: str, name: str = "main") -> tuple[Path, int]:
    """Write a menu file; the expected error line is the one marked ``# <-``."""
    path = directory / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    marked = [n for n, line in enumerate(text.splitlines(), start=1) if "# <-" in line]
    return path, marked[0] if marked else 0


def test_default_menus_load() -> None:
    menus = load_menus(REPO / "config" / "ivr")
    assert menus.get("main").entry == "welcome"
    main = menus.get("bank")
    assert main.entry == "welcome" and main.agent_queue == "general"
    assert isinstance(main.node("welcome"), PlayNode)
    menu = main.node("main-menu")
    assert isinstance(menu, MenuNode)
    assert menu.prompt == "bankcti/main-menu"
    assert menu.retries == 3 and menu.timeout_ms > 0
    assert (menu.invalid_prompt, menu.timeout_prompt) == ("bankcti/invalid", "bankcti/timeout")
    assert set(menu.choices) == {"1", "2", "3", "9", "0"}
    assert menus.queue_names() >= {"accounts", "cards", "general", "priority"}
    assert menu.fallback == "agent"
    assert main.calendars["office"].timezone == "Asia/Shanghai"


def test_good_menu_and_menu_set(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    menus = load_menus(tmp_path)
    assert [m.name for m in menus] == ["main"]
    assert menus.get("main").agent_queue == "general"  # the default
    assert menus.queue_names() == {"accounts", "general"}
    with pytest.raises(UnknownMenu, match="no IVR menu 'cards'"):
        menus.get("cards")


BAD = {
    "unknown node type": (
        GOOD.replace('type = "queue"\nqueue = "general"', 'type = "foo"  # <-\nqueue = "general"'),
        "node 'agent': unknown node type 'foo'",
    ),
    "missing type": (
        GOOD.replace('[nodes.agent]\ntype = "queue"\n', "[nodes.agent]  # <-\n"),
        "node 'agent': missing required key 'type'",
    ),
    "missing required key": (
        GOOD.replace(
            '[nodes.welcome]\ntype = "play"\nprompts = ["bankcti/welcome"]\n',
            '[nodes.welcome]  # <-\ntype = "play"\n',
        ),
        "node 'welcome': missing required key 'prompts'",
    ),
    "negative timeout": (
        GOOD.replace(
            'prompt = "bankcti/main-menu"\n', 'prompt = "bankcti/main-menu"\ntimeout_ms = -5  # <-\n'
        ),
        "node 'menu': timeout_ms: Input should be greater than 0",
    ),
    "timeout as a string": (
        GOOD.replace(
            'prompt = "bankcti/main-menu"\n', 'prompt = "bankcti/main-menu"\ntimeout_ms = "5000"  # <-\n'
        ),
        "node 'menu': timeout_ms: Input should be a valid integer",
    ),
    "zero retries": (
        GOOD.replace('prompt = "bankcti/main-menu"\n', 'prompt = "bankcti/main-menu"\nretries = 0  # <-\n'),
        "node 'menu': retries: Input should be greater than or equal to 1",
    ),
    "two-digit key": (
        GOOD.replace('choices = { "1" = "accounts"', 'choices = { "12" = "accounts"').replace(
            '"0" = "agent" }', '"0" = "agent" }  # <-'
        ),
        "node 'menu': choices.12: key '12' is not one DTMF key (0-9, *, #)",
    ),
    "letter key in a choices table": (
        GOOD.replace(
            'choices = { "1" = "accounts", "0" = "agent" }',
            '[nodes.menu.choices]\n"1" = "accounts"\n"a" = "agent"  # <-',
        ),
        "node 'menu': choices.a: key 'a' is not one DTMF key (0-9, *, #)",
    ),
    "hash as a menu choice": (
        GOOD.replace('"0" = "agent" }', '"#" = "agent" }  # <-'),
        "node 'menu': choices.#: key '#' ends input in GET DATA and cannot be a menu choice",
    ),
    "prompt with a space": (
        GOOD.replace('prompt = "bankcti/main-menu"', 'prompt = "bankcti/main menu"  # <-'),
        "node 'menu': prompt: 'bankcti/main menu' is not a sound file name",
    ),
    "unknown key in a node": (
        GOOD.replace('queue = "accounts"', 'queue = "accounts"\ncolour = 3  # <-'),
        "node 'accounts': unknown key 'colour'",
    ),
    "dangling next": (
        GOOD.replace('next = "menu"', 'next = "mnu"  # <-'),
        "node 'welcome': next: node 'mnu' does not exist",
    ),
    "dangling choice": (
        GOOD.replace('"0" = "agent" }', '"0" = "agnet" }  # <-'),
        "node 'menu': choices.0: node 'agnet' does not exist",
    ),
    "dangling fallback": (
        GOOD.replace(
            'prompt = "bankcti/main-menu"\n', 'prompt = "bankcti/main-menu"\nfallback = "nowhere"  # <-\n'
        ),
        "node 'menu': fallback: node 'nowhere' does not exist",
    ),
    "unreachable node": (
        GOOD + '\n[nodes.orphan]  # <-\ntype = "hangup"\n',
        "node 'orphan': unreachable from the entry node 'welcome'",
    ),
    "missing entry": (
        GOOD.replace('entry = "welcome"\n', "# no entry  # <-\n"),
        'missing entry node: add entry = "<node>"',
    ),
    "entry does not exist": (
        GOOD.replace('entry = "welcome"', 'entry = "start"  # <-'),
        "entry node 'start' does not exist",
    ),
    "entry is not a string": (
        GOOD.replace('entry = "welcome"', "entry = 3  # <-"),
        "'entry' must be a string",
    ),
    "bad agent queue name": (
        GOOD.replace('entry = "welcome"\n', 'entry = "welcome"\nagent_queue = "all agents"  # <-\n'),
        "agent_queue 'all agents' is not a queue name",
    ),
    "no nodes": ('entry = "welcome"  # <-\n', "no nodes: add at least one [nodes.<name>] table"),
    "node is not a table": (
        GOOD.replace('entry = "welcome"\n', 'entry = "welcome"\nnodes.extra = 3  # <-\n'),
        "node 'extra': must be a table",
    ),
    "unknown top-level key": (
        GOOD.replace('entry = "welcome"\n', 'entry = "welcome"\nlanguage = "en"  # <-\n'),
        "unknown key 'language'",
    ),
    "goto with two targets": (
        GOOD.replace(
            '[nodes.agent]\ntype = "queue"\nqueue = "general"',
            '[nodes.agent]  # <-\ntype = "goto"\nnext = "menu"\nmenu = "main"',
        ),
        "node 'agent': a goto needs exactly one of 'next' (a node) or 'menu' (another menu)",
    ),
    "TOML syntax error at the end": (
        GOOD + "extra = [1,  # <-\n",
        "TOML syntax: Invalid value (at end of document)",
    ),
    "TOML syntax error": (
        GOOD.replace('queue = "accounts"', "queue = accounts  # <-"),
        "TOML syntax: Invalid value",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_menu_is_refused_with_file_line_reason(tmp_path: Path, case: str) -> None:
    text, reason = BAD[case]
    path, line = write(tmp_path, text)
    assert line, "test case lacks a '# <-' marker"
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    error = caught.value
    assert (error.path, error.line) == (path, line), str(error)
    assert error.reason.startswith(reason), error.reason
    assert str(error) == f"{path}:{line}: {error.reason}"


def test_unknown_node_type_message_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "main.toml"
    path.write_text('entry = "x"\n\n[nodes.x]\ntype = "foo"\n', encoding="utf-8")
    with pytest.raises(MenuError) as caught:
        load_menu_file(path)
    assert str(caught.value) == f"{path}:4: node 'x': unknown node type 'foo'"


def test_loop_without_a_menu_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "main.toml"
    path.write_text(
        'entry = "hello"\n'
        "\n"
        "[nodes.hello]\n"
        'type = "play"\n'
        'prompts = ["bankcti/welcome"]\n'
        'next = "again"\n'
        "\n"
        "[nodes.again]\n"  # line 8
        'type = "goto"\n'
        'next = "hello"\n',
        encoding="utf-8",
    )
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert caught.value.line in {3, 8}
    assert "loop without a menu: " in caught.value.reason
    assert (
        "hello -> again -> hello" in caught.value.reason or "again -> hello -> again" in caught.value.reason
    )


def test_loop_across_menus_is_refused_but_a_menu_breaks_it(tmp_path: Path) -> None:
    (tmp_path / "main.toml").write_text(
        'entry = "jump"\n[nodes.jump]\ntype = "goto"\nmenu = "other"\n', encoding="utf-8"
    )
    (tmp_path / "other.toml").write_text(
        'entry = "back"\n[nodes.back]\ntype = "goto"\nmenu = "main"\n', encoding="utf-8"
    )
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert (caught.value.path.name, caught.value.line) == ("main.toml", 2)
    assert caught.value.reason == "node 'jump': loop without a menu: jump -> other:back -> jump"
    (tmp_path / "other.toml").write_text(
        'entry = "ask"\n[nodes.ask]\ntype = "menu"\nprompt = "p"\nchoices = { "9" = "back" }\n'
        '[nodes.back]\ntype = "goto"\nmenu = "main"\n',
        encoding="utf-8",
    )
    menus = load_menus(tmp_path)
    jump = menus.get("main").node("jump")
    assert isinstance(jump, GotoNode) and jump.menu == "other"


def test_goto_unknown_menu_names_the_line(tmp_path: Path) -> None:
    path, _ = write(tmp_path, 'entry = "jump"\n\n[nodes.jump]\ntype = "goto"\nmenu = "cards"\n')
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert (caught.value.path, caught.value.line) == (path, 5)
    assert caught.value.reason == "node 'jump': menu 'cards' does not exist"


def test_one_bad_file_among_good_ones_is_named(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    bad, _ = write(tmp_path, GOOD.replace('next = "menu"', 'next = "gone"'), name="cards")
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert caught.value.path == bad and caught.value.line == 6


def test_not_utf8_and_bad_names_and_directories(tmp_path: Path) -> None:
    path = tmp_path / "main.toml"
    path.write_bytes(b'entry = "welcome"\n# caf\xe9\n')
    with pytest.raises(MenuError) as caught:
        load_menus(tmp_path)
    assert (caught.value.line, caught.value.reason) == (2, "not UTF-8 text")
    path.unlink()

    with pytest.raises(MenuError, match="no IVR menu files"):
        load_menus(tmp_path)
    missing = tmp_path / "absent"
    with pytest.raises(MenuError) as caught:
        load_menus(missing)
    assert str(caught.value) == f"{missing}: IVR menu directory does not exist"

    (tmp_path / "folder.toml").mkdir()
    with pytest.raises(MenuError, match=r"folder\.toml: cannot read"):
        load_menus(tmp_path)
    (tmp_path / "folder.toml").rmdir()

    (tmp_path / "my menu.toml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(MenuError, match="menu name 'my menu'"):
        load_menus(tmp_path)


def test_key_lines_skip_multiline_values() -> None:
    text = (
        "entry = 'a'\n"  # 1
        "[nodes.a]\n"  # 2
        "prompts = [\n"  # 3
        '  "x", # [not a table]\n'  # 4
        "  \"next = 'no'\",\n"  # 5
        "]\n"  # 6
        'doc = """\n'  # 7
        "[nodes.fake]\n"  # 8
        "next = 1\n"  # 9
        '"""\n'  # 10
        'next = "b"\n'  # 11
        '[nodes."quoted name".choices]\n'  # 12
        '"#" = "c"  # hash key\n'  # 13
        "inline = { a.b = 1, c = 2 }\n"  # 14
    )
    lines = KeyLines(text)
    assert lines.line_of("nodes", "a", "next") == 11
    assert lines.exact("nodes", "fake") is None
    assert lines.line_of("nodes", "a", "prompts", "0") == 3
    assert lines.line_of("nodes", "quoted name", "choices", "#") == 13
    assert lines.line_of("nodes", "quoted name", "choices", "inline", "a", "b") == 14
    assert lines.line_of("nowhere") == 1
