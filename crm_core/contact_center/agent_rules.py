"""What an agent account may hold: login, name, extension, device, role, team, skills, queues, password.

Each ``check_*`` returns the value as stored (trimmed, normalised) or raises
:class:`~crm_core.errors.InvalidInput` naming the field, with a message for
the administrator who typed it.  The same rules serve the command line, the
REST API and the CSV import, so an account is judged the same whichever way
it is made.

Devices are what the ACD dials and what the PBX reports busy: ``TECH/resource``
with the technology spelled as Asterisk names its channels (``pjsip/1001``
becomes ``PJSIP/1001``), so that a device state event for ``PJSIP/1001-0000002a``
finds its agent.  ``Local`` devices must name ``extension@context``.  Characters
that would split a Dial string (``&``, ``,``, ``|``) or a channel name are refused.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Collection, Iterable, Mapping

from crm_core.errors import InvalidInput
from crm_core.models import AGENT_ROLES

__all__ = [
    "MAX_PASSWORD",
    "MAX_PROFICIENCY",
    "MIN_PASSWORD",
    "MIN_PROFICIENCY",
    "TECHNOLOGIES",
    "check_device",
    "check_extension",
    "check_login",
    "check_name",
    "check_password",
    "check_queues",
    "check_role",
    "check_skills",
    "check_team",
    "default_device",
    "generate_password",
    "parse_skills",
]

MIN_PASSWORD = 8
MAX_PASSWORD = 1024
#: The ACD's proficiency scale (acd.agents): 1 can help … 5 expert.
MIN_PROFICIENCY, MAX_PROFICIENCY = 1, 5
#: Channel technologies an agent's phone may use, spelled as Asterisk names the channels.
TECHNOLOGIES = {t.upper(): t for t in ("PJSIP", "SIP", "IAX2", "Local", "DAHDI")}

_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_EXTENSION = re.compile(r"[0-9*#]{1,32}")
_DEVICE = re.compile(r"(?P<tech>[A-Za-z][A-Za-z0-9]*)/(?P<resource>[A-Za-z0-9_.+@:-]+)")
_LOCAL = re.compile(r"[A-Za-z0-9_*#+.-]+@[A-Za-z0-9_.-]+")
_NAME_TOKEN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_TEAM = re.compile(r"\S(?:.{0,98}\S)?")
# Unambiguous characters only: a generated password is read off a screen and typed once.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def check_login(value: str) -> str:
    login = value.strip()
    if not _LOGIN.fullmatch(login):
        raise InvalidInput(
            "login", "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return login


def check_name(value: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > 200:
        raise InvalidInput("name", "must be 1 to 200 characters")
    return name


def check_extension(value: str) -> str:
    extension = value.strip()
    if not _EXTENSION.fullmatch(extension):
        raise InvalidInput("extension", "must be 1 to 32 dial-pad characters (0-9, *, #)")
    return extension


def default_device(extension: str) -> str:
    """The device of an agent who gave none: the sample dialplan's ``[agents]`` context."""
    return f"Local/{extension}@agents"


def check_device(value: str) -> str:
    """``TECH/resource`` with the technology's canonical spelling (``PJSIP/1001``, ``Local/1001@agents``)."""
    device = value.strip()
    match = _DEVICE.fullmatch(device)
    if match is None or len(device) > 128:
        raise InvalidInput(
            "device",
            "must be TECH/resource as Asterisk dials it, e.g. PJSIP/1001, SIP/1001, IAX2/1001 or "
            "Local/1001@agents (at most 128 characters; no '&', ',', '|', spaces or dial options)",
        )
    tech = TECHNOLOGIES.get(match["tech"].upper())
    if tech is None:
        raise InvalidInput(
            "device", f"unknown technology {match['tech']!r} (one of {', '.join(TECHNOLOGIES.values())})"
        )
    resource = match["resource"]
    if tech == "Local" and not _LOCAL.fullmatch(resource):
        raise InvalidInput("device", "a Local device names extension@context, e.g. Local/1001@agents")
    return f"{tech}/{resource}"


def check_role(value: str) -> str:
    role = value.strip().lower()
    if role not in AGENT_ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(AGENT_ROLES)}")
    return role


def check_team(value: str | None) -> str | None:
    """A team name (``None`` or blank: no team)."""
    if value is None or not value.strip():
        return None
    team = " ".join(value.split())
    if not _TEAM.fullmatch(team):
        raise InvalidInput("team", "must be at most 100 characters")
    return team


def check_skills(skills: Mapping[str, object]) -> dict[str, int]:
    """Skill name → proficiency, each a whole number in the ACD's range."""
    checked: dict[str, int] = {}
    for raw, level in skills.items():
        skill = str(raw).strip()
        if not _NAME_TOKEN.fullmatch(skill):
            raise InvalidInput(
                "skills", f"skill {skill!r}: names are 1 to 64 letters, digits, '.', '_' or '-'"
            )
        if (
            isinstance(level, bool)
            or not isinstance(level, int)
            or not MIN_PROFICIENCY <= level <= MAX_PROFICIENCY
        ):
            raise InvalidInput(
                "skills",
                f"skill {skill!r}: proficiency must be a whole number "
                f"{MIN_PROFICIENCY} to {MAX_PROFICIENCY}, got {level!r}",
            )
        checked[skill] = level
    return checked


def parse_skills(text: str) -> dict[str, int]:
    """``"cards:4 wealth:2"`` (spaces, commas or semicolons between) as checked skills."""
    skills: dict[str, object] = {}
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        name, colon, level = item.partition(":")
        if not colon or not level.strip().isdigit():
            raise InvalidInput("skills", f"{item!r}: write skill:proficiency, e.g. cards:4")
        if name.strip() in skills:
            raise InvalidInput("skills", f"skill {name.strip()!r} is given twice")
        skills[name.strip()] = int(level)
    return check_skills(skills)


def check_queues(queues: Iterable[str], known: Collection[str] | None) -> list[str]:
    """Queue names, each once, each one the ACD runs (``known``; ``None`` checks the names only)."""
    checked: list[str] = []
    for raw in queues:
        queue = raw.strip()
        if not _NAME_TOKEN.fullmatch(queue):
            raise InvalidInput(
                "queues", f"queue {queue!r}: names are 1 to 64 letters, digits, '.', '_' or '-'"
            )
        if known is not None and queue not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise InvalidInput("queues", f"no queue {queue!r} is configured (queues: {listed})")
        if queue not in checked:
            checked.append(queue)
    return checked


def check_password(password: str, login: str) -> str:
    """The minimum policy: 8 to 1024 characters, a letter and a digit or symbol, not the login."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if password.strip() != password:
        raise InvalidInput("password", "must not start or end with a space")
    if not any(c.isalpha() for c in password) or all(c.isalpha() for c in password):
        raise InvalidInput("password", "must mix letters with digits or symbols")
    if password.lower() == login.lower():
        raise InvalidInput("password", "must not be the login")
    return password


def generate_password(length: int = 14) -> str:
    """A random password that passes :func:`check_password` (letters and digits, no look-alikes)."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if any(c.isalpha() for c in password) and any(c.isdigit() for c in password):
            return password
