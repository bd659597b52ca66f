"""``config/asterisk/link-sounds.sh`` finds Asterisk's sounds where that Asterisk keeps them, or is told.

A fake ``asterisk`` program on ``PATH`` answers ``-rx 'core show settings'`` with the
output of Asterisk 22 (the lines of ``handle_show_settings`` in main/asterisk.c) for an
installation from source under ``/opt/asterisk`` — where a Debian default such as
``/usr/share/asterisk/sounds`` would be wrong.  Without a running Asterisk and without
the directory given, the script stops with a message saying how to give it, and links
nothing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINK_SOUNDS = REPO / "config" / "asterisk" / "link-sounds.sh"
TIMEOUT = 30

SETTINGS_OUTPUT = """
PBX Core settings
-----------------
  Version:                     22.10.1
  Build Options:               BUILD_NATIVE, OPTIONAL_API
  Maximum calls:               Not set
  Maximum open file handles:   1024
  Root console verbosity:      3
  Current console verbosity:   3
  Debug level:                 0
  Maximum load average:        0.000000
  Minimum free memory:         0 MB
  Startup time:                10:02:11
  Last reload time:            10:02:11
  System:                      Linux/6.1.0 built by root on x86_64 2026-11-20 08:00:00 UTC
  System name:
  Entity ID:                   02:42:ac:11:00:02
  PBX UUID:                    0f6c1a9e-4a51-4d5e-9a0e-3b2e1b7c9d10
  Default language:            en
  Language prefix:             Enabled
  User name and group:         /
  Executable includes:         Disabled
  Transcode via SLIN:          Enabled
  Transmit silence during rec: Disabled
  Generic PLC:                 Enabled
  Min DTMF duration::          80
  RTP use dynamic payloads:    1
  RTP dynamic payload types:   35-63,96-127

* Subsystems
  -------------
  Manager (AMI):               Enabled
  Web Manager (AMI/HTTP):      Disabled
  Call data records:           Enabled
  Realtime Architecture (ARA): Disabled

* Directories
  -------------
  Configuration file:          /etc/asterisk/asterisk.conf
  Configuration directory:     /etc/asterisk
  Module directory:            /opt/asterisk/lib/asterisk/modules
  Spool directory:             /opt/asterisk/var/spool/asterisk
  Log directory:               /opt/asterisk/var/log/asterisk
  Run/Sockets directory:       /opt/asterisk/var/run/asterisk
  PID file:                    /opt/asterisk/var/run/asterisk/asterisk.pid
  VarLib directory:            /opt/asterisk/var/lib/asterisk
  Data directory:              {data_dir}
  ASTDB:                       /opt/asterisk/var/lib/asterisk/astdb
  IAX2 Keys directory:         /opt/asterisk/var/lib/asterisk
  AGI Scripts directory:       /opt/asterisk/var/lib/asterisk/agi-bin


"""


def _prompts(tmp_path: Path) -> Path:
    built = tmp_path / "built"
    for language in ("en", "zh"):
        (built / language / "bankcti").mkdir(parents=True)
        (built / language / "bankcti" / "welcome.wav").write_bytes(b"RIFF")
    return built


def _fake_asterisk(bin_dir: Path, output: str | None) -> None:
    """An ``asterisk`` that prints *output* for ``-rx 'core show settings'``, or fails like a stopped one."""
    bin_dir.mkdir()
    script = bin_dir / "asterisk"
    if output is None:
        body = "echo 'Unable to connect to remote asterisk (does /var/run/asterisk/asterisk.ctl exist?)'\n"
        body += "exit 1\n"
    else:
        (bin_dir / "settings.txt").write_text(output, encoding="utf-8")
        body = (
            '[ "$1" = "-rx" ] && [ "$2" = "core show settings" ] || { echo "unexpected: $*" >&2; exit 9; }\n'
            f'cat "{bin_dir / "settings.txt"}"\n'
        )
    script.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    script.chmod(0o755)


def _run(*args: str | Path, bin_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("ASTERISK", "ASTERISK_SOUNDS")}
    environ["PATH"] = f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin"
    environ.update(env)
    return subprocess.run(
        ["sh", str(LINK_SOUNDS), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=environ,
        check=False,
    )


def test_the_script_is_valid_shell() -> None:
    for shell in ("sh", "bash"):
        checked = subprocess.run([shell, "-n", str(LINK_SOUNDS)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr


def test_the_sounds_directory_is_read_from_the_running_asterisk(tmp_path: Path) -> None:
    built = _prompts(tmp_path)
    data_dir = tmp_path / "opt" / "asterisk" / "var" / "lib" / "asterisk"
    (data_dir / "sounds" / "en").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    _fake_asterisk(bin_dir, SETTINGS_OUTPUT.replace("{data_dir}", str(data_dir)))

    done = _run(built, bin_dir=bin_dir)

    assert done.returncode == 0, done.stderr
    for language in ("en", "zh"):
        link = data_dir / "sounds" / language / "bankcti"
        assert link.is_symlink() and (link / "welcome.wav").read_bytes() == b"RIFF"


def test_the_asterisk_program_may_be_named(tmp_path: Path) -> None:
    built = _prompts(tmp_path)
    data_dir = tmp_path / "astdata"
    (data_dir / "sounds").mkdir(parents=True)
    elsewhere = tmp_path / "sbin"
    _fake_asterisk(elsewhere, SETTINGS_OUTPUT.replace("{data_dir}", str(data_dir)))
    empty = tmp_path / "empty"
    empty.mkdir()

    done = _run(built, bin_dir=empty, ASTERISK=str(elsewhere / "asterisk"))

    assert done.returncode == 0, done.stderr
    assert (data_dir / "sounds" / "zh" / "bankcti").is_symlink()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_given_directory_wins_and_asterisk_is_not_asked(tmp_path: Path, how: str) -> None:
    built = _prompts(tmp_path)
    given = tmp_path / "sounds"
    given.mkdir()
    bin_dir = tmp_path / "bin"
    _fake_asterisk(bin_dir, None)  # a stopped Asterisk: asking it would fail

    done = (
        _run(built, given, bin_dir=bin_dir)
        if how == "argument"
        else _run(built, bin_dir=bin_dir, ASTERISK_SOUNDS=str(given))
    )

    assert done.returncode == 0, done.stderr
    assert (given / "en" / "bankcti").is_symlink()


def test_without_asterisk_or_a_directory_it_stops_and_links_nothing(tmp_path: Path) -> None:
    built = _prompts(tmp_path)
    bin_dir = tmp_path / "bin"
    _fake_asterisk(bin_dir, None)

    done = _run(built, bin_dir=bin_dir)

    assert done.returncode == 2 and done.stdout == ""  # no "link -> target" line: nothing linked
    assert "cannot ask Asterisk for its sounds directory" in done.stderr
    assert "ASTERISK_SOUNDS=" in done.stderr and "<astdatadir>/sounds" in done.stderr


def test_a_named_directory_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    built = _prompts(tmp_path)
    bin_dir = tmp_path / "bin"
    _fake_asterisk(bin_dir, None)
    missing = tmp_path / "typo" / "sounds"

    done = _run(built, missing, bin_dir=bin_dir)

    assert done.returncode == 2 and f"{missing} is not a directory" in done.stderr
    assert not (tmp_path / "typo").exists()
