"""`bankcti prompts build` as a user runs it, and the Asterisk sound-path sample that uses its output."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINK_SOUNDS = REPO / "config" / "asterisk" / "link-sounds.sh"
TIMEOUT = 60
MENU = """\
entry = "welcome"
agent_queue = "general"

[nodes.welcome]
type = "play"
prompts = ["bankcti/welcome", "bankcti/extra"]
next = "bye"

[nodes.bye]
type = "hangup"
prompt = "bankcti/goodbye"
"""
CATALOG = """\
[prompts]
"bankcti/welcome" = "Welcome."
"bankcti/goodbye" = "Goodbye."
"bankcti/yuan" = "yuan"
"bankcti/fen" = "fen"
"bankcti/minus" = "minus"
"""


@dataclass(frozen=True)
class Run:
    code: int | None
    stdout: str
    stderr: str


async def _bankcti(
    data_dir: Path, *args: str | Path, menu_dir: Path | None = None, path: str | None = None
) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    env["BANKCTI_DATA_DIR"] = str(data_dir)
    env["BANKCTI_LOG_LEVEL"] = "WARNING"
    if menu_dir is not None:
        env["BANKCTI_IVR_MENU_DIR"] = str(menu_dir)
    if path is not None:
        env["PATH"] = path
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", "prompts", "build", *map(str, args),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(TIMEOUT):
        out, err = await process.communicate()
    return Run(process.returncode, out.decode(), err.decode())


def _menu_dir(tmp_path: Path, catalog: str = CATALOG) -> Path:
    menus = tmp_path / "ivr"
    (menus / "prompts").mkdir(parents=True)
    (menus / "main.toml").write_text(MENU)
    (menus / "prompts" / "en.toml").write_text(catalog)
    return menus


async def test_builds_the_shipped_catalogs_into_the_data_directory(tmp_path: Path) -> None:
    run = await _bankcti(tmp_path, "--lang", "en")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["language", "built", "skipped", "missing"]
    assert (
        lines[1].split()[0] == "en" and int(lines[1].split()[1]) >= 30 and lines[1].split()[2:] == ["0", "0"]
    )
    assert str(tmp_path / "sounds") in lines[-1]
    assert (tmp_path / "sounds" / "en" / "bankcti" / "welcome.wav").is_file()
    assert not (tmp_path / "sounds" / "zh").exists()
    again = await _bankcti(tmp_path, "--lang", "en", "--out", tmp_path / "sounds")
    assert again.code == 0 and again.stdout.splitlines()[1].split()[1] == "0"


async def test_a_prompt_missing_from_a_catalog_fails_after_building_the_rest(tmp_path: Path) -> None:
    menus = _menu_dir(tmp_path)
    run = await _bankcti(tmp_path, "--out", tmp_path / "out", menu_dir=menus)
    assert run.code == 1
    assert run.stdout.splitlines()[1].split() == ["en", "5", "0", "1"]
    assert "missing from the 'en' catalog: bankcti/extra" in run.stdout
    assert (tmp_path / "out" / "en" / "bankcti" / "goodbye.wav").is_file()


@pytest.mark.parametrize(
    ("args", "catalog", "path", "message"),
    [
        ((), CATALOG + '"bankcti/empty" = ""\n', None, "en.toml:7: prompt 'bankcti/empty' has empty text"),
        (("--lang", "en,fr"), CATALOG, None, "no prompt catalog for fr"),
        ((), CATALOG, "", "apt-get install espeak-ng sox"),
    ],
)
async def test_user_errors_are_one_line_without_traceback(
    tmp_path: Path, args: tuple[str, ...], catalog: str, path: str | None, message: str
) -> None:
    menus = _menu_dir(tmp_path, catalog)
    run = await _bankcti(
        tmp_path, *args, menu_dir=menus, path=None if path is None else str(tmp_path / "bin")
    )
    assert run.code == 1
    assert run.stderr.startswith("bankcti: ") and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_link_sounds_points_asterisk_at_the_built_prompts(tmp_path: Path) -> None:
    built = tmp_path / "sounds"
    for language, entries in {"en": ["bankcti"], "zh": ["bankcti", "digits"]}.items():
        for entry in entries:
            (built / language / entry).mkdir(parents=True)
            (built / language / entry / "x.wav").write_bytes(b"RIFF")
    (built / "en" / ".bankcti-prompts.json").write_text("{}")
    asterisk = tmp_path / "asterisk-sounds"
    (asterisk / "en" / "digits").mkdir(parents=True)  # Asterisk's own English digits stay untouched

    def link() -> subprocess.CompletedProcess[str]:
        command = [str(LINK_SOUNDS), str(built), str(asterisk)]
        return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)

    for _ in range(2):  # idempotent
        done = link()
        assert done.returncode == 0, done.stderr
        for language, entry in (("en", "bankcti"), ("zh", "bankcti"), ("zh", "digits")):
            target = asterisk / language / entry
            assert target.is_symlink() and (target / "x.wav").read_bytes() == b"RIFF"
    assert not (asterisk / "en" / ".bankcti-prompts.json").exists()
    assert not (asterisk / "en" / "digits").is_symlink()
    (asterisk / "zh" / "digits").unlink()
    (asterisk / "zh" / "digits").mkdir()  # someone's own Mandarin digits: never replaced
    refused = link()
    assert refused.returncode == 1 and "left alone" in refused.stderr
    assert not (asterisk / "zh" / "digits").is_symlink()
    missing = subprocess.run(
        [str(LINK_SOUNDS), str(tmp_path / "none"), str(asterisk)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert missing.returncode == 1 and "bankcti prompts build" in missing.stderr
