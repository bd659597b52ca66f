"""``bankcti prompts build``: render the prompt catalogs into Asterisk sound files.

Reads the catalogs of ``<ivr menu dir>/prompts/`` and the menus of the menu
directory, renders every catalog text (:func:`ivr.prompts.build_prompts`)
into ``<out>/<language>/<name>.wav`` (default out: ``<data_dir>/sounds``)
and prints one line per language::

    language  built  skipped  missing
    en           31        0        0
    zh           74        0        0

Exit status 0; 1 when a menu uses a prompt missing from a catalog (the
names are listed; everything else is still built), or on any error the
user can fix (bad catalog or menu file, unknown language, espeak-ng or sox
missing, unwritable directory) — one line on stderr, no traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from bankcti.settings import Settings
from ivr import MenuError, load_menus
from ivr.prompts import (
    BuildReport,
    CatalogError,
    PromptBuildError,
    PromptToolsMissing,
    build_prompts,
    load_catalogs,
    menu_prompt_names,
    missing_prompts,
)

__all__ = ["format_report", "parse_languages", "prompts_build"]


def parse_languages(value: str | None) -> list[str] | None:
    """``"en,zh"`` → ``["en", "zh"]`` (``None``: every catalog); blanks and repeats dropped."""
    if value is None:
        return None
    languages: list[str] = []
    for part in value.split(","):
        language = part.strip()
        if language and language not in languages:
            languages.append(language)
    return languages


def format_report(report: BuildReport, missing: dict[str, list[str]]) -> list[str]:
    """The table printed by ``bankcti prompts build``, then one line per language with missing prompts."""
    lines = [f"{'language':<10}{'built':>7}{'skipped':>9}{'missing':>9}"]
    for language in sorted(report.built):
        lines.append(
            f"{language:<10}{len(report.built[language]):>7}{len(report.skipped[language]):>9}"
            f"{len(missing.get(language, [])):>9}"
        )
    for language, names in sorted(missing.items()):
        lines.append(f"missing from the {language!r} catalog: {', '.join(names)}")
    lines.append(f"sound files ({', '.join(report.formats)}) in {report.out_dir}")
    return lines


def prompts_build(
    settings: Settings,
    out: Path | None = None,
    languages: list[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``bankcti prompts build`` and return its exit status (see the module docstring)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    catalog_dir = settings.ivr_menu_dir / "prompts"
    out_dir = out if out is not None else settings.data_dir / "sounds"
    try:
        catalogs = load_catalogs(catalog_dir)
        chosen = list(catalogs) if not languages else languages
        unknown = [language for language in chosen if language not in catalogs]
        if unknown:
            have = ", ".join(sorted(catalogs))
            print(
                f"bankcti: no prompt catalog for {', '.join(unknown)} in {catalog_dir} (have: {have})",
                file=stderr,
            )
            return 1
        menus = load_menus(settings.ivr_menu_dir, prompts={})
        missing = missing_prompts(
            menu_prompt_names(menus), {language: catalogs[language] for language in chosen}
        )
        report = build_prompts(catalogs, out_dir, languages=chosen)
    except (CatalogError, MenuError, PromptToolsMissing, PromptBuildError, OSError) as exc:
        print(f"bankcti: {exc}", file=stderr)
        return 1
    for line in format_report(report, missing):
        print(line, file=stdout)
    return 1 if missing else 0
