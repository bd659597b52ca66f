"""The ``bankcti`` command line itself: ``--version``, help on every option, ``--data-dir`` everywhere."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from bankcti.cli.main import build_parser

TIMEOUT = 60

#: Every subcommand that reads or writes the data directory, with its required arguments.
DATA_COMMANDS = [
    ("serve",),
    ("demo",),
    ("db", "upgrade"),
    ("import", "customers", "customers.csv"),
    ("analytics", "run"),
    ("commission", "run", "--period", "2026-11"),
    ("prompts", "build"),
    ("ivr", "reload"),
    ("agents", "add", "ann", "--name", "Ann", "--extension", "1001"),
    ("agents", "list"),
    ("agents", "set", "ann"),
    ("agents", "disable", "ann"),
    ("agents", "enable", "ann"),
    ("agents", "password", "ann"),
    ("agents", "import", "agents.csv"),
    ("admin", "create", "root", "--name", "Root"),
]


def _parsers(
    parser: argparse.ArgumentParser, path: str = "bankcti"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``parser`` and every subparser below it, each with its command path."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, f"{path} {name}")


def test_version_prints_the_installed_version() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    done = subprocess.run(
        [sys.executable, "-m", "bankcti", "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"bankcti {metadata.version('bankcti')}"
    assert done.stderr == ""


def test_every_option_of_every_subcommand_has_help() -> None:
    missing = []
    walked = []
    for path, parser in _parsers(build_parser()):
        walked.append(path)
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not (action.help or "").strip():
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []
    # The walk reached the leaves (bench pop / route / analytics among them).
    assert {
        "bankcti bench pop",
        "bankcti bench route",
        "bankcti bench analytics",
        "bankcti db upgrade",
    } <= set(walked)


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=" ".join)
def test_data_dir_is_an_option_of_every_subcommand_using_data(command: tuple[str, ...]) -> None:
    args = build_parser().parse_args([*command, "--data-dir", "/srv/bankcti"])
    assert args.data_dir == Path("/srv/bankcti")
    assert build_parser().parse_args(list(command)).data_dir is None


@pytest.mark.parametrize("command", DATA_COMMANDS, ids=" ".join)
def test_subcommand_help_shows_data_dir(command: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    words = [word for word in command if word not in {"customers.csv", "--period", "2026-11"}]
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*words, "--help"])
    assert exited.value.code == 0
    assert "--data-dir DIR" in capsys.readouterr().out
