"""Render prompt catalogs to Asterisk sound files with ``espeak-ng`` and ``sox``.

Each text becomes ``<out>/<language>/<name>.wav`` (8 kHz, mono, 16-bit
PCM — what Asterisk plays without transcoding) and, when this ``sox`` can
write GSM, ``<name>.gsm`` beside it: Asterisk's per-language sound layout,
so ``STREAM FILE bankcti/welcome`` finds ``sounds/zh/bankcti/welcome`` once
``CHANNEL(language)`` is ``zh``.

A text mixing scripts ("普通话请按1。For English, press 2.") is spoken in
runs: Han text by the Mandarin voice, Latin text by the language's voice
(English for a Mandarin catalog), joined into one file.  A manifest per
language (``.bankcti-prompts.json``) remembers what each file was made
from, so unchanged prompts are skipped and a changed text, voice or
format is rebuilt.  Files appear atomically (rename), so Asterisk never
plays a half-written prompt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_VOICES",
    "MANIFEST",
    "BuildReport",
    "PromptBuildError",
    "PromptToolsMissing",
    "build_prompts",
    "speech_runs",
]

log = logging.getLogger(__name__)

#: espeak-ng voice of each catalog language; any other language uses its own code as the voice.
DEFAULT_VOICES: dict[str, str] = {"en": "en-us", "zh": "cmn"}
#: The voice for Han characters, whatever the catalog.
HAN_VOICE = "cmn"
#: The voice for Latin runs of a catalog whose own voice is Mandarin.
LATIN_VOICE = "en-us"
MANIFEST = ".bankcti-prompts.json"
SAMPLE_RATE = 8000
SPEED_WPM = 150  # a little slower than espeak's 175: telephone audio is hard enough
_RENDER_VERSION = 1  # bump when the pipeline changes: every file is rebuilt
_TIMEOUT = 60.0
_APT_HINT = "install them with: apt-get install espeak-ng sox"
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


class PromptToolsMissing(RuntimeError):
    """``espeak-ng`` or ``sox`` is not installed (the message names the Debian packages)."""


class PromptBuildError(RuntimeError):
    """A tool failed on one prompt (the message names the language, the prompt and the tool's error)."""


@dataclass
class BuildReport:
    """What :func:`build_prompts` did, by language: prompts built and prompts already up to date."""

    out_dir: Path
    formats: tuple[str, ...]
    built: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def files(self, language: str, name: str) -> list[Path]:
        """The sound files of prompt ``name`` in ``language``."""
        return [self.out_dir / language / f"{name}.{fmt}" for fmt in self.formats]


def speech_runs(text: str, voice: str) -> list[tuple[str, str]]:
    """``text`` cut into ``(voice, text)`` runs: Han characters by :data:`HAN_VOICE`, Latin by the other.

    Digits, punctuation and spaces stay with the run they are in, so
    "请按1。" is one Mandarin run.
    """
    latin_voice = LATIN_VOICE if voice == HAN_VOICE else voice
    runs: list[tuple[str, str]] = []
    current: str | None = None
    buffer = ""
    for char in text:
        kind = HAN_VOICE if _HAN.match(char) else latin_voice if _LATIN.match(char) else None
        if kind is not None and current is not None and kind != current:
            runs.append((current, buffer))
            buffer = ""
        if kind is not None:
            current = kind
        buffer += char
    if buffer.strip():
        runs.append((current or voice, buffer))
    return [(v, t.strip()) for v, t in runs if t.strip()]


def _tools() -> tuple[str, str]:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    missing = [name for name, path in (("espeak-ng", espeak), ("sox", sox)) if path is None]
    if espeak is None or sox is None:
        raise PromptToolsMissing(f"building prompts needs {' and '.join(missing)}: {_APT_HINT}")
    return espeak, sox


def _sox_writes_gsm(sox: str) -> bool:
    try:
        done = subprocess.run([sox, "-h"], capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    formats = next((line for line in done.stdout.splitlines() if line.startswith("AUDIO FILE FORMATS")), "")
    return "gsm" in formats.split()


def _run(command: list[str], what: str, *, stdin: bytes | None = None) -> None:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise PromptBuildError(f"{what}: {Path(command[0]).name} took over {_TIMEOUT:g} s") from None
    except OSError as exc:
        raise PromptBuildError(f"{what}: cannot run {command[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"status {done.returncode}"
        raise PromptBuildError(f"{what}: {Path(command[0]).name} failed ({reason})")


def _fingerprint(runs: list[tuple[str, str]], formats: tuple[str, ...]) -> str:
    material = json.dumps([_RENDER_VERSION, SAMPLE_RATE, SPEED_WPM, list(formats), runs], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


class _Builder:
    """Renders the prompts of one language into ``directory``."""

    def __init__(self, espeak: str, sox: str, directory: Path, formats: tuple[str, ...]) -> None:
        self.espeak, self.sox, self.directory, self.formats = espeak, sox, directory, formats

    def render(self, language: str, name: str, runs: list[tuple[str, str]]) -> None:
        what = f"prompt {language}/{name}"
        target = self.directory / f"{name}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.directory, prefix=".build-") as work:
            scratch = Path(work)
            pieces = []
            for index, (voice, text) in enumerate(runs):
                raw = scratch / f"run{index}.wav"
                speak = [self.espeak, "-b", "1", "-v", voice, "-s", str(SPEED_WPM)]
                _run([*speak, "-w", str(raw), "--stdin"], what, stdin=text.encode("utf-8"))
                # Runs may come at different rates (an MBROLA voice is 16 kHz): bring each to 8 kHz first.
                piece = scratch / f"run{index}-8k.wav"
                _run([self.sox, str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(piece)], what)
                pieces.append(str(piece))
            wav = scratch / "prompt.wav"
            _run([self.sox, *pieces, "-e", "signed-integer", "-b", "16", str(wav), "norm", "-3"], what)
            outputs = {"wav": wav}
            if "gsm" in self.formats:
                outputs["gsm"] = scratch / "prompt.gsm"
                _run([self.sox, str(wav), str(outputs["gsm"])], what)
            for fmt, path in outputs.items():
                os.replace(path, target.with_suffix(f".{fmt}"))


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no manifest (or a damaged one): everything is rebuilt
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _write_manifest(path: Path, entries: Mapping[str, str]) -> None:
    temporary = path.with_name(f"{path.name}.tmp")
    temporary.write_text(json.dumps(dict(sorted(entries.items())), indent=1, ensure_ascii=False), "utf-8")
    os.replace(temporary, path)


def build_prompts(
    catalogs: Mapping[str, Mapping[str, str]],
    out_dir: Path,
    *,
    languages: Iterable[str] | None = None,
    voices: Mapping[str, str] | None = None,
    workers: int | None = None,
) -> BuildReport:
    """Render every prompt of ``catalogs`` (or of ``languages`` only) under ``out_dir``.

    ``voices`` overrides :data:`DEFAULT_VOICES` per language.  Up-to-date
    files are skipped.  Raises :class:`PromptToolsMissing` when
    ``espeak-ng`` or ``sox`` is missing, :class:`KeyError` for a language
    without a catalog, :class:`PromptBuildError` when a tool fails (prompts
    finished before it stay built and recorded), :class:`OSError` when
    ``out_dir`` cannot be written.
    """
    espeak, sox = _tools()
    chosen = list(catalogs) if languages is None else list(languages)
    for language in chosen:
        if language not in catalogs:
            have = ", ".join(sorted(catalogs))
            raise KeyError(f"no prompt catalog for language {language!r} (have: {have})")
    formats = ("wav", "gsm") if _sox_writes_gsm(sox) else ("wav",)
    report = BuildReport(out_dir=out_dir, formats=formats)
    voice_of = {**DEFAULT_VOICES, **(voices or {})}
    for language in chosen:
        builder = _Builder(espeak, sox, out_dir / language, formats)
        voice = voice_of.get(language, language)
        runs = {name: speech_runs(text, voice) for name, text in catalogs[language].items()}
        built, skipped = _build_language(builder, language, runs, report, workers)
        report.built[language], report.skipped[language] = built, skipped
        log.info("prompts.built", extra={"language": language, "built": len(built), "skipped": len(skipped)})
    return report


def _build_language(
    builder: _Builder,
    language: str,
    runs: Mapping[str, list[tuple[str, str]]],
    report: BuildReport,
    workers: int | None,
) -> tuple[list[str], list[str]]:
    """Render the out-of-date prompts of one language; return ``(built, skipped)`` names."""
    builder.directory.mkdir(parents=True, exist_ok=True)
    manifest_path = builder.directory / MANIFEST
    manifest = _read_manifest(manifest_path)
    todo: dict[str, str] = {}
    skipped: list[str] = []
    for name in sorted(runs):
        stamp = _fingerprint(runs[name], builder.formats)
        if manifest.get(name) == stamp and all(path.is_file() for path in report.files(language, name)):
            skipped.append(name)
        else:
            todo[name] = stamp
    lock = threading.Lock()

    def build(name: str) -> str:
        builder.render(language, name, runs[name])
        with lock:
            manifest[name] = todo[name]
        return name

    try:
        with ThreadPoolExecutor(max_workers=workers or min(8, os.cpu_count() or 2)) as pool:
            built = sorted(pool.map(build, todo))
    finally:
        # Prompts finished before a failure stay recorded: the next build skips them.
        _write_manifest(manifest_path, manifest)
    return built, skipped
