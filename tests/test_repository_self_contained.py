"""A fresh clone is all the suite may read: no file under ``tests/`` points outside the repository.

The recorded Asterisk traces and peer fixtures live in ``tests/fixtures``; a path into the developers'
``shared`` folder beside the clone would make ``make test`` fail for anyone who clones the project.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Spelled in pieces so that this file does not match itself.
_OUTSIDE = re.compile(
    r"\.\.[/\\]" + "shared" + r"|" + "shared" + r"[/\\](asterisk-traces|peer-fixtures|notes)"
    r"|parents\[\d+\]\s*\.parent\b|REPO(_ROOT)?\.parent\b"
)
_CODE_AND_TEXT = {".py", ".md", ".txt", ".toml", ".ini", ".cfg", ".json", ".yaml", ".yml", ".sh"}


def _suite_files() -> list[Path]:
    return [
        path
        for path in sorted((REPO / "tests").rglob("*"))
        if path.is_file()
        and path.suffix in _CODE_AND_TEXT
        and "fixtures" not in path.relative_to(REPO).parts
        and path != Path(__file__).resolve()  # its own examples of what is caught
    ]


def test_no_test_reads_outside_the_clone() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _suite_files()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert not offenders, "tests must read only files inside the repository:\n" + "\n".join(offenders)


def test_the_scan_sees_the_suite() -> None:
    # The check above is worthless if the walk finds nothing: the trace helpers must be among the files.
    names = {path.name for path in _suite_files()}
    assert {"ami_trace_files.py", "fastagi_traces.py", "sim_harness.py"} <= names


def test_the_pattern_catches_a_path_outside(tmp_path: Path) -> None:
    for line in (
        "TRACES = REPO.parent / 'shared' / 'asterisk-traces'",
        'open("../' + 'shared/notes/domain.md")',
        "root = Path(__file__).parents[2].parent",
    ):
        assert _OUTSIDE.search(line), line


def test_traces_are_in_the_repository() -> None:
    traces = REPO / "tests" / "fixtures" / "asterisk"
    assert (traces / "README.md").is_file()
    assert len(list(traces.glob("ami-*.raw"))) >= 2 * 20
    assert list((REPO / "tests" / "fixtures" / "peers" / "cacofonisk").rglob("*.json"))
