"""Prompt catalogs: loading and refusing them, the default menus' coverage, and real espeak-ng/sox builds."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from ivr import load_menus
from ivr.prompts import (
    PROMPT_NAMES,
    CatalogError,
    PromptBuildError,
    PromptToolsMissing,
    build_prompts,
    load_catalogs,
    menu_prompt_names,
    missing_prompts,
)
from ivr.prompts_build import MANIFEST, speech_runs

REPO = Path(__file__).resolve().parents[2]
MENU_DIR = REPO / "config" / "ivr"
CATALOG_DIR = MENU_DIR / "prompts"
ZH_DIGITS = [f"digits/{n}" for n in [*range(10), *range(10, 100, 10)]] + [
    "digits/hundred", "digits/thousand", "digits/wan", "digits/yi", "digits/minus",
]  # fmt: skip


def _sox(*args: str | Path) -> str:
    done = subprocess.run(["sox", *map(str, args)], capture_output=True, text=True, timeout=30, check=True)
    return done.stdout + done.stderr


def _check_sound(path: Path) -> None:
    """8 kHz, one channel, some duration, not silent."""
    assert _sox("--i", "-r", path).strip() == "8000", path
    assert _sox("--i", "-c", path).strip() == "1", path
    assert float(_sox("--i", "-D", path)) > 0.1, path
    rms = re.search(r"RMS\s+amplitude:\s+([0-9.]+)", _sox(path, "-n", "stat"))
    assert rms is not None and float(rms.group(1)) > 0.01, path


def _catalog(directory: Path, name: str, text: str | bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_shipped_catalogs_speak_every_prompt_of_the_default_menus() -> None:
    catalogs = load_catalogs(CATALOG_DIR)
    assert set(catalogs) == {"en", "zh"}
    assert missing_prompts(PROMPT_NAMES, catalogs) == {}
    assert set(ZH_DIGITS) <= set(catalogs["zh"])  # Asterisk has no Mandarin digits of its own
    assert not any(name.startswith("digits/") for name in catalogs["en"])  # English: Asterisk's own
    menus = load_menus(MENU_DIR, prompts={})
    used = menu_prompt_names(menus)
    assert {"bankcti/welcome", "bankcti/main-menu", "bankcti/yuan"} <= used
    assert missing_prompts(used, catalogs) == {}


def test_nested_tables_name_prompts_with_slashes(tmp_path: Path) -> None:
    _catalog(tmp_path, "en.toml", '[prompts]\n"x/a" = "A"\n[prompts.bankcti]\nwelcome = " Hello. "\n')
    assert load_catalogs(tmp_path) == {"en": {"x/a": "A", "bankcti/welcome": "Hello."}}


@pytest.mark.parametrize(
    ("name", "text", "where", "reason"),
    [
        (
            "en.toml",
            '[prompts]\n"bankcti/a" = "A"\n"bankcti/b" = "  "\n',
            ":3:",
            "prompt 'bankcti/b' has empty text",
        ),
        ("en.toml", '[prompts]\n"bankcti/a" = "A"\n\n"../up" = "x"\n', ":4:", "is not a prompt name"),
        ("en.toml", '[prompts]\n"/abs" = "x"\n', ":2:", "is not a prompt name"),
        ("en.toml", '[prompts]\n"bank cti/a" = "x"\n', ":2:", "is not a prompt name"),
        ("en.toml", '[prompts]\n"bankcti/a" = 3\n', ":2:", "the text must be a string"),
        ("en.toml", 'voice = "en"\n[prompts]\n"a" = "x"\n', ":1:", "unknown key 'voice'"),
        ("en.toml", '[prompts]\n"a" = "x"\n"b" = \n', ":3:", "TOML syntax"),
        ("en.toml", '[prompts]\n"bankcti/a" = "x"\n[prompts.bankcti]\na = "y"\n', ":4:", "defined twice"),
        ("en.toml", "# nothing\n", ":1:", "needs a [prompts] table"),
        ("en.toml", "prompts = 3\n", ":1:", "needs a [prompts] table"),
        ("en.toml", "[prompts]\n", ":1:", "is empty"),
        ("en.toml", f'[prompts]\n"a" = "{"x" * 1001}"\n', ":2:", "longer than 1000"),
        ("en.toml", b'[prompts]\n"a" = "caf\xe9"\n', ":2:", "not UTF-8"),
        ("english.toml", '[prompts]\n"a" = "x"\n', ":", "not a language code"),
    ],
)
def test_bad_catalogs_are_refused_with_file_and_line(
    tmp_path: Path, name: str, text: str | bytes, where: str, reason: str
) -> None:
    path = _catalog(tmp_path, name, text)
    with pytest.raises(CatalogError) as info:
        load_catalogs(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{path}{where}") and reason in message, message


def test_missing_or_empty_catalog_directory(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalogs(tmp_path / "nowhere")
    with pytest.raises(CatalogError, match="no prompt catalogs"):
        load_catalogs(tmp_path)


def test_missing_prompts_lists_the_gaps_per_language() -> None:
    catalogs = {"en": {"a": "A", "b": "B"}, "zh": {"a": "甲"}, "fr": {"a": "A", "b": "B", "c": "C"}}
    assert missing_prompts(["b", "a", "c"], catalogs) == {"en": ["c"], "zh": ["b", "c"]}
    assert missing_prompts([], catalogs) == {}


def test_mixed_texts_are_spoken_in_runs() -> None:
    assert speech_runs("普通话请按1。For English, press 2.", "en-us") == [
        ("cmn", "普通话请按1。"),
        ("en-us", "For English, press 2."),
    ]
    assert speech_runs("请按 2 for English", "cmn") == [("cmn", "请按 2"), ("en-us", "for English")]
    assert speech_runs("Press 1.", "en-us") == [("en-us", "Press 1.")]
    assert speech_runs("1234", "cmn") == [("cmn", "1234")]


def test_building_the_shipped_catalogs_gives_telephone_sound_files(tmp_path: Path) -> None:
    catalogs = load_catalogs(CATALOG_DIR)
    report = build_prompts(catalogs, tmp_path)
    assert report.formats[0] == "wav"
    for language, prompts in catalogs.items():
        assert report.built[language] == sorted(prompts) and report.skipped[language] == []
        for name in prompts:
            for path in report.files(language, name):
                assert path.is_file() and path.stat().st_size > 0, path
            _check_sound(tmp_path / language / f"{name}.wav")
    # Asterisk's per-language layout: STREAM FILE bankcti/welcome with CHANNEL(language)=zh.
    assert (tmp_path / "zh" / "bankcti" / "welcome.wav").is_file()
    if "gsm" in report.formats:
        assert _sox("--i", "-e", tmp_path / "zh" / "digits" / "5.gsm").strip() == "GSM"
    again = build_prompts(catalogs, tmp_path, languages=["zh"])
    assert again.built == {"zh": []} and again.skipped["zh"] == sorted(catalogs["zh"])


def test_only_changed_or_lost_prompts_are_rebuilt(tmp_path: Path) -> None:
    catalogs = {"en": {"bankcti/a": "Hello.", "bankcti/b": "Goodbye."}, "zh": {"bankcti/a": "您好。"}}
    first = build_prompts(catalogs, tmp_path, languages=["en"])
    assert first.built == {"en": ["bankcti/a", "bankcti/b"]} and not (tmp_path / "zh").exists()
    catalogs["en"]["bankcti/b"] = "Goodbye, and thank you."
    (tmp_path / "en" / "bankcti" / "a.wav").unlink()
    second = build_prompts(catalogs, tmp_path)
    assert second.built == {"en": ["bankcti/a", "bankcti/b"], "zh": ["bankcti/a"]}
    third = build_prompts(catalogs, tmp_path, voices={"en": "en-gb"})  # another voice: another sound
    assert third.built == {"en": ["bankcti/a", "bankcti/b"], "zh": []}
    assert (tmp_path / "en" / MANIFEST).is_file()
    assert not [p for p in (tmp_path / "en").rglob("*") if p.name.startswith(".build-")]
    with pytest.raises(KeyError, match="fr"):
        build_prompts(catalogs, tmp_path, languages=["fr"])


def test_a_failing_tool_names_the_prompt_and_keeps_the_rest(tmp_path: Path) -> None:
    catalogs = {"en": {"bankcti/a": "Hello."}, "xx": {"bankcti/b": "Hello."}}
    with pytest.raises(PromptBuildError) as info:
        build_prompts(catalogs, tmp_path)  # "xx" is no espeak-ng voice
    assert "prompt xx/bankcti/b" in str(info.value) and "espeak-ng failed" in str(info.value)
    assert build_prompts(catalogs, tmp_path, languages=["en"]).skipped == {"en": ["bankcti/a"]}


def test_missing_tools_name_the_debian_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PromptToolsMissing) as info:
        build_prompts({"en": {"a": "Hello."}}, tmp_path / "out")
    message = str(info.value)
    assert "espeak-ng and sox" in message and "apt-get install espeak-ng sox" in message
    assert not (tmp_path / "out").exists()
