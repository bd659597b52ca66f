"""The arguments of ``bankcti agents …`` and ``bankcti admin create`` (see :mod:`bankcti.cli.agents`).

Kept apart from the commands so that building the parser (``bankcti --help``)
loads no database code.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_parsers"]


def _fields(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--name", required=required, help="full name shown to colleagues")
    parser.add_argument("--extension", required=required, metavar="EXT", help="phone extension, e.g. 1001")
    parser.add_argument(
        "--device",
        metavar="TECH/RESOURCE",
        help="what the ACD dials: PJSIP/1001, SIP/1001, IAX2/1001, Local/1001@agents "
        "(default for a new agent: Local/<extension>@agents)",
    )
    parser.add_argument("--role", choices=("agent", "supervisor", "admin"), help="role (new accounts: agent)")
    parser.add_argument(
        "--team", metavar="NAME", help="team the account belongs to (created if new; '' for none)"
    )
    parser.add_argument(
        "--supervises", metavar="TEAM,…", help="teams a supervisor supervises, comma-separated ('' for none)"
    )
    parser.add_argument("--queues", metavar="Q,…", help="queues answered, comma-separated ('' for none)")
    parser.add_argument(
        "--skills", metavar="SKILL:LEVEL,…", help="skills with proficiency 1-5, e.g. cards:4,wealth:2"
    )


def add_parsers(sub: Any, data: argparse.ArgumentParser) -> None:
    """The ``agents`` and ``admin`` subcommands (``sub``: the top-level subparsers; ``data``: --data-dir)."""
    agents = sub.add_parser(
        "agents", help="agent accounts: add, list, change, disable, passwords, CSV import"
    )
    agents_sub = agents.add_subparsers(dest="agents_command", required=True)
    add = agents_sub.add_parser(
        "add", parents=[data], help="add an account (a password is generated and printed once)"
    )
    add.add_argument("login", help="login: letters, digits, '.', '_' or '-'")
    _fields(add, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    listing = agents_sub.add_parser("list", parents=[data], help="list every account (disabled ones too)")
    listing.add_argument(
        "--csv", action="store_true", help="write CSV (formula-safe cells) instead of a table"
    )
    change = agents_sub.add_parser("set", parents=[data], help="change an account; omitted options stay")
    change.add_argument("login", help="the account's login")
    _fields(change, required=False)
    for name, what in (("disable", "disable an account: no login, out of the ACD, history kept"),
                       ("enable", "enable a disabled account again")):  # fmt: skip
        command = agents_sub.add_parser(name, parents=[data], help=what)
        command.add_argument("login", help="the account's login")
    password = agents_sub.add_parser(
        "password", parents=[data], help="give an account a new password (generated unless --password-stdin)"
    )
    password.add_argument("login", help="the account's login")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    imports = agents_sub.add_parser(
        "import",
        parents=[data],
        help="add accounts from a CSV file: all of them, or none with every problem by line and field",
        description="Columns: login, name, extension (required); device, role, team, supervises, queues, "
        "skills (cards:4 wealth:2), password (optional: generated and printed once when empty).",
    )
    imports.add_argument("file", type=Path, help="the CSV file (header row, one account per line)")
    imports.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    admin = sub.add_parser("admin", help="administrator accounts")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_sub.add_parser(
        "create", parents=[data], help="create an administrator (asks for the password on the terminal)"
    )
    create.add_argument("login", help="login: letters, digits, '.', '_' or '-'")
    create.add_argument("--name", required=True, help="full name")
    create.add_argument(
        "--extension", default="0", metavar="EXT", help="phone extension (default 0: no phone)"
    )
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
