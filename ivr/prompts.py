"""Prompt catalogs: the text of every IVR prompt in each language, and the sound files made from them.

A catalog is ``config/ivr/prompts/<language>.toml`` (``en.toml``,
``zh.toml`` — the language is what a ``language`` node sets as
``CHANNEL(language)``) with one ``[prompts]`` table mapping a prompt name,
exactly as menus use it, to its text::

    [prompts]
    "bankcti/welcome" = "Welcome to the bank."

(a nested table ``[prompts.bankcti]`` with ``welcome = "…"`` means the same
name).  ``bankcti prompts build`` renders each text with ``espeak-ng`` and
``sox`` (see :mod:`ivr.prompts_build`) into ``<out>/<language>/<name>.wav``.

The prompts of the default bank menus (:data:`PROMPT_NAMES`), every one in
both shipped catalogs:

=============================  ==============================================
``bankcti/welcome``            welcome to the bank
``bankcti/choose-language``    "普通话请按1。For English, press 2."
``bankcti/main-menu``          accounts 1, cards 2, loans and wealth 3, callback 9, agent 0
``bankcti/invalid``            that choice is not valid
``bankcti/timeout``            no key pressed
``bankcti/enter-account``      enter the account or card number, then #
``bankcti/enter-pin``          enter the 6-digit phone-banking PIN, then #
``bankcti/wrong-pin``          the PIN is not correct
``bankcti/pin-locked``         PIN entry locked after too many wrong PINs
``bankcti/verified``           identity confirmed
``bankcti/account-menu``       balance 1, recent transactions 2, agent 0
``bankcti/account-ending``     "for the account ending in" (then SAY DIGITS)
``bankcti/balance-is``         "your balance is" (then the amount)
``bankcti/yuan``               currency unit after the whole part ("yuan")
``bankcti/fen``                unit after the cents ("fen")
``bankcti/minus``              sign of a negative amount
``bankcti/no-accounts``        no accounts to read out
``bankcti/recent-transactions``  "your most recent transactions are"
``bankcti/card-menu``          lost card 1, card services 2, agent 0
``bankcti/no-card``            no active card to report
``bankcti/card-reported-lost`` card blocked; "your reference number is"
``bankcti/callback-offer``     all agents busy: press 1 to be called back
``bankcti/callback-booked``    we will call you back; "your reference number is"
``bankcti/after-hours``        closed now; press 1 for a callback
``bankcti/closed``             closed now, call again in opening hours
``bankcti/holiday``            closed for a public holiday
``bankcti/all-busy``           all agents busy, please hold
``bankcti/transferring``       transferring to an agent
``bankcti/vip-welcome``        greeting of private and VIP customers
``bankcti/service-unavailable``  the service cannot be reached right now
``bankcti/goodbye``            thank you, goodbye
=============================  ==============================================

The Mandarin catalog also has Asterisk's ``digits/…`` sounds (0–9, tens,
hundred, thousand, 万 ``wan``, 亿 ``yi``, minus, weekdays ``day-0``…, months
``mon-0``…): Asterisk ships no Mandarin sounds, and ``SAY NUMBER`` /
``SAY DIGITS`` / ``SAY DATE`` need them.  Catalogs may hold more names than
menus use; the builder renders whatever they contain.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ivr.menus import MenuSet
from ivr.prompts_build import BuildReport, PromptBuildError, PromptToolsMissing, build_prompts
from ivr.tomlpos import KeyLines, syntax_error_line

__all__ = [
    "PROMPT_NAMES",
    "BuildReport",
    "CatalogError",
    "PromptBuildError",
    "PromptToolsMissing",
    "build_prompts",
    "load_catalogs",
    "menu_prompt_names",
    "missing_prompts",
]

PROMPT_NAMES: tuple[str, ...] = tuple(
    f"bankcti/{name}"
    for name in (
        "welcome", "choose-language", "main-menu", "invalid", "timeout", "enter-account", "enter-pin",
        "wrong-pin", "pin-locked", "verified", "account-menu", "account-ending", "balance-is", "yuan", "fen",
        "minus", "no-accounts", "recent-transactions", "card-menu", "no-card", "card-reported-lost",
        "callback-offer", "callback-booked", "after-hours", "closed", "holiday", "all-busy", "transferring",
        "vip-welcome", "service-unavailable", "goodbye",
    )
)  # fmt: skip
"""The prompts of the default bank menus (see the module docstring for what each says)."""

MAX_TEXT_LENGTH = 1000
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")  # as a menu's language node accepts
_PROMPT = re.compile(r"[A-Za-z0-9_./-]+")  # as a menu's prompt accepts (an AGI argument)
# Node fields that name prompts (checked by name: node types added later are covered too).
_PROMPT_FIELD = re.compile(r"(^|_)prompts?$")
# Played by the IVR's amount speech around Asterisk's own number sounds.
_SPEECH_PROMPTS = ("bankcti/yuan", "bankcti/fen", "bankcti/minus")


class CatalogError(Exception):
    """A prompt catalog was refused: ``str()`` is ``"<path>:<line>: <reason>"`` or ``"<path>: <reason>"``."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.reason}"


def _valid_name(name: str) -> bool:
    return bool(_PROMPT.fullmatch(name)) and ".." not in name and not name.startswith("/")


def _entries(table: Mapping[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _entries(value, (*path, key))
        else:
            yield (*path, key), value


def _decode(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CatalogError(path, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(path, data[: exc.start].count(b"\n") + 1, "not UTF-8 text") from None


def load_catalog(path: Path) -> dict[str, str]:
    """The prompts of one catalog file, by name; :class:`CatalogError` naming the line of any problem."""
    text = _decode(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, reason = syntax_error_line(exc, text)
        raise CatalogError(path, line, f"TOML syntax: {reason}") from None
    lines = KeyLines(text)
    for key in data:
        if key != "prompts":
            raise CatalogError(path, lines.line_of(key), f"unknown key {key!r} (only a [prompts] table)")
    table = data.get("prompts")
    if not isinstance(table, dict):
        where = 1 if table is None else lines.line_of("prompts")
        raise CatalogError(path, where, "a catalog needs a [prompts] table")
    prompts: dict[str, str] = {}
    for keys, value in _entries(table):
        name, line = "/".join(keys), lines.line_of("prompts", *keys)
        if not _valid_name(name):
            raise CatalogError(path, line, f"{name!r} is not a prompt name (letters, digits, _ . / -)")
        if name in prompts:
            raise CatalogError(path, line, f"prompt {name!r} is defined twice")
        if not isinstance(value, str):
            raise CatalogError(path, line, f"prompt {name!r}: the text must be a string")
        if not value.strip():
            raise CatalogError(path, line, f"prompt {name!r} has empty text")
        if len(value) > MAX_TEXT_LENGTH:
            raise CatalogError(path, line, f"prompt {name!r}: text longer than {MAX_TEXT_LENGTH} characters")
        prompts[name] = value.strip()
    if not prompts:
        raise CatalogError(path, lines.line_of("prompts"), "the [prompts] table is empty")
    return prompts


def load_catalogs(directory: Path) -> dict[str, dict[str, str]]:
    """Every ``<language>.toml`` catalog of ``directory``: ``{language: {prompt name: text}}``.

    Raises :class:`CatalogError` (file, line, reason) for a missing
    directory, no catalog, a file name that is not a language code, a
    syntax error, an unknown key, a bad prompt name, or an empty text.
    """
    if not directory.is_dir():
        raise CatalogError(directory, None, "prompt catalog directory does not exist")
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise CatalogError(directory, None, "no prompt catalogs (<language>.toml)")
    catalogs: dict[str, dict[str, str]] = {}
    for path in paths:
        if not _LANGUAGE.fullmatch(path.stem):
            raise CatalogError(path, None, f"{path.stem!r} is not a language code (e.g. en, zh, pt_BR)")
        catalogs[path.stem] = load_catalog(path)
    return catalogs


def menu_prompt_names(menus: MenuSet) -> set[str]:
    """Every prompt the menus can play: node fields ``prompt``, ``prompts``, ``*_prompt``, amount units."""
    names: set[str] = set(_SPEECH_PROMPTS)
    for menu in menus:
        for node in menu.nodes.values():
            for field_name in type(node).model_fields:
                if not _PROMPT_FIELD.search(field_name):
                    continue
                value = getattr(node, field_name)
                if isinstance(value, str):
                    names.add(value)
                elif isinstance(value, list | tuple):
                    names.update(item for item in value if isinstance(item, str))
    return names


def missing_prompts(
    menu_prompt_names: Iterable[str], catalogs: Mapping[str, Mapping[str, str]]
) -> dict[str, list[str]]:
    """``{language: [prompt names the menus use but the catalog lacks]}``, languages with gaps only."""
    wanted = set(menu_prompt_names)
    missing = {language: sorted(wanted - set(prompts)) for language, prompts in catalogs.items()}
    return {language: names for language, names in sorted(missing.items()) if names}
