"""``bankcti`` command line: serve, demo, db upgrade, import, bench, ivr check / reload.

Every error a user can cause (bad settings, unreachable database, bad menu
file) ends with one clear line on stderr and exit status 1 — no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
from collections.abc import Callable, Coroutine, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bankcti.cli.agents_args import add_parsers as add_agent_parsers
from bankcti.logs import configure_logging
from bankcti.settings import Settings, SettingsError, load_settings

__all__ = ["build_parser", "main"]

log = logging.getLogger("bankcti")


class UserError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _version() -> str:
    """The installed distribution's version (an editable install included)."""
    try:
        return metadata.version("bankcti")
    except metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def _port(value: str) -> int:
    """argparse type of a TCP port: 0 (a free port) to 65535."""
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid port: {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is not between 0 and 65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The whole ``bankcti`` command line (the tests walk it: every option has help)."""
    parser = argparse.ArgumentParser(prog="bankcti", description="Contact-center CTI for a bank CRM.")
    parser.add_argument(
        "--version", action="version", version=f"bankcti {_version()}", help="print the version and exit"
    )
    parser.add_argument("--config", type=Path, help="settings file (TOML) overriding the defaults")
    sub = parser.add_subparsers(dest="command", required=True)

    # Every subcommand that reads or writes the data directory takes the same option, placed after
    # the subcommand (over BANKCTI_DATA_DIR and the settings file). Only `demo` and `db upgrade`
    # may create a missing one (see _data_dir_use).
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="data directory: SQLite database, hashing key, pid file (default: the data_dir setting)",
    )

    sub.add_parser("serve", parents=[data], help="run the service against the configured Asterisk")

    demo = sub.add_parser(
        "demo",
        parents=[data],
        help="run everything embedded with the PBX simulator and demo data",
        description="Seeds the data directory (created if missing) and serves the console. The "
        "simulated PBX's AMI and the service's FastAGI listen on free ports unless given.",
    )
    demo.add_argument("--port", type=_port, help="console HTTP port (default: settings, 8080)")
    demo.add_argument(
        "--ami-port", type=_port, metavar="PORT", help="AMI port of the simulated PBX (default: a free port)"
    )
    demo.add_argument(
        "--fastagi-port",
        type=_port,
        metavar="PORT",
        help="FastAGI port of the service (default: a free port)",
    )

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser(
        "upgrade",
        parents=[data],
        help="apply the Alembic migrations (creates the data directory and the SQLite file if needed)",
    )

    imports = sub.add_parser("import", help="import data from files")
    imports_sub = imports.add_subparsers(dest="import_command", required=True)
    customers = imports_sub.add_parser(
        "customers",
        parents=[data],
        help="import customers from a CSV file",
        description="Columns: name, phone (required); kind, tier, id_number, phone2, phone_type, email, "
        "owner, source, deal_status (optional). UTF-8 or GB18030; comma, semicolon or tab. "
        "Exit status: 0 imported, 1 rows rejected (nothing imported), 2 unusable file or option.",
    )
    customers.add_argument("file", type=Path, help="the CSV file")
    customers.add_argument("--skip-bad", action="store_true", help="import the good rows, report the bad")
    customers.add_argument("--owner", metavar="LOGIN", help="agent owning rows without an owner column")
    customers.add_argument("--region", metavar="CN", help="phone region for national numbers")
    customers.add_argument("--report", type=Path, metavar="FILE", help="also write rejected rows as CSV")
    customers.add_argument("--dry-run", action="store_true", help="validate only, write nothing")

    ivr = sub.add_parser("ivr", help="IVR menus")
    ivr_sub = ivr.add_subparsers(dest="ivr_command", required=True)
    check = ivr_sub.add_parser(
        "check",
        help="validate menu files without starting the service (exit status 0 good, 1 refused)",
        description="Each FILE is checked together with the other menus of its directory; "
        "without FILE, the configured menu directory is checked.",
    )
    check.add_argument("files", nargs="*", type=Path, metavar="FILE", help="menu files (*.toml)")
    ivr_sub.add_parser(
        "reload",
        parents=[data],
        help="check the menus, then make the running service load them (SIGHUP via the pid file)",
    )

    prompts = sub.add_parser("prompts", help="IVR prompt sound files")
    prompts_sub = prompts.add_subparsers(dest="prompts_command", required=True)
    build = prompts_sub.add_parser(
        "build",
        parents=[data],
        help="render the prompt catalogs to 8 kHz sound files with espeak-ng and sox",
        description="Reads <ivr menu dir>/prompts/<language>.toml and writes <out>/<language>/<name>.wav "
        "(and .gsm). Exit status 1 if a menu uses a prompt missing from a catalog.",
    )
    build.add_argument("--out", type=Path, metavar="DIR", help="where to write (default: <data_dir>/sounds)")
    build.add_argument("--lang", metavar="en,zh", help="only these languages (default: every catalog)")

    bench = sub.add_parser("bench", help="benchmarks (print a table, optionally write JSON)")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    pop = bench_sub.add_parser("pop", help="agent assigned -> screen-pop received, over real sockets")
    pop.add_argument("--calls", type=int, default=200, help="simulated concurrent calls (default 200)")
    pop.add_argument(
        "--rate", type=float, default=0.0, help="steady arrivals instead: calls per second (with --duration)"
    )
    pop.add_argument("--duration", type=float, default=0.0, help="seconds of steady arrivals (with --rate)")
    pop.add_argument("--agents", type=int, default=50, help="agents logged in on websockets (default 50)")
    pop.add_argument(
        "--client-processes",
        type=int,
        default=0,
        help="processes playing the agents' consoles (default: one per 250 agents)",
    )
    pop.add_argument(
        "--json", type=Path, dest="json_path", metavar="FILE", help="also write the result as JSON"
    )
    route = bench_sub.add_parser(
        "route",
        help="routing decisions/s and p50/p99 latency: indexed router against a full scan, same workload",
    )
    route.add_argument("--agents", type=int, default=2000, help="agents with 3-8 skills each (default 2000)")
    route.add_argument("--skills", type=int, default=50, help="distinct skills in the world (default 50)")
    route.add_argument("--queues", type=int, default=100, help="queues needing 1-2 skills each (default 100)")
    route.add_argument("--events", type=int, default=20_000, help="simulated events to run (default 20000)")
    route.add_argument("--seed", type=int, default=5, help="seed of the world and its events (default 5)")
    route.add_argument(
        "--json", type=Path, dest="json_path", metavar="FILE", help="also write the result as JSON"
    )

    soak = bench_sub.add_parser(
        "soak", help="service CPU (%% of a core, ms per call) and RSS growth at a steady call rate"
    )
    soak.add_argument("--rate", type=float, default=50.0, help="calls per second (default 50)")
    soak.add_argument("--minutes", type=float, default=10.0, help="minutes of arrivals (default 10)")
    soak.add_argument("--agents", type=int, help="agents on websockets (default: twice the offered load)")
    soak.add_argument("--speed", type=float, default=5.0, help="simulator speed (default 5)")
    soak.add_argument(
        "--warmup", type=float, help="seconds left out of the figures (default 60, at most a fifth)"
    )
    soak.add_argument("--sample-every", type=float, default=5.0, help="seconds between samples (default 5)")
    soak.add_argument(
        "--customers", type=int, default=300, help="demo customers whose numbers call (default 300; 0: none)"
    )
    soak.add_argument(
        "--tracemalloc", type=Path, metavar="FILE", help="trace the service's memory: growths by line to FILE"
    )
    soak.add_argument(
        "--json", type=Path, dest="json_path", metavar="FILE", help="also write the result as JSON"
    )

    wallboard = bench_sub.add_parser(
        "wallboard",
        help="queue event -> the supervisor's wallboard message (p50/p95/p99) and the gaps between pushes, "
        "over the real console, database and websocket",
    )
    wallboard.add_argument("--rate", type=float, default=50.0, help="calls queued a second (default 50)")
    wallboard.add_argument("--seconds", type=float, default=30.0, help="seconds of calls (default 30)")
    wallboard.add_argument("--agents", type=int, default=200, help="agents taking the calls (default 200)")
    wallboard.add_argument("--queues", type=int, default=4, help="queues the calls wait in (default 4)")
    wallboard.add_argument(
        "--interval", type=float, default=1.0, help="the wallboard's push interval, seconds (default 1)"
    )
    wallboard.add_argument(
        "--postgres", metavar="URL", help="run on a scratch PostgreSQL database there (default: SQLite)"
    )
    wallboard.add_argument(
        "--json", type=Path, dest="json_path", metavar="FILE", help="also write the result as JSON"
    )

    from bankcti.bench.history_cli import add_history_parser

    add_history_parser(bench_sub)
    from bankcti.bench.fastagi_cli import add_fastagi_parser

    add_fastagi_parser(bench_sub)
    report = bench_sub.add_parser(
        "report", help="print the Markdown tables of benchmark results (JSON), or refresh them in a README"
    )
    report.add_argument(
        "results", type=Path, nargs="+", metavar="RESULT.json", help="JSON written by a benchmark's --json"
    )
    report.add_argument(
        "--readme",
        type=Path,
        metavar="FILE",
        help="rewrite the tables in FILE (between <!-- bench:NAME --> markers) instead of printing them",
    )

    commission = sub.add_parser("commission", help="commission accounting (提成核算)")
    commission_sub = commission.add_subparsers(dest="commission_command", required=True)
    commission_run = commission_sub.add_parser(
        "run",
        parents=[data],
        help="compute the open statements of a month and print one row per agent",
    )
    commission_run.add_argument("--period", required=True, metavar="YYYY-MM", help="the month, e.g. 2026-11")
    # No --data-dir: it runs on a scratch PostgreSQL database next to database_url and drops it.
    segment_bench = bench_sub.add_parser(
        "analytics", help="time the segmentation of N transactions on a scratch PostgreSQL database"
    )
    segment_bench.add_argument(
        "--transactions", type=int, default=1_000_000, help="transactions to generate (default 1000000)"
    )
    segment_bench.add_argument(
        "--customers", type=int, default=50_000, help="customers they belong to (default 50000)"
    )
    segment_bench.add_argument(
        "--json", type=Path, dest="json_path", metavar="FILE", help="also write the result as JSON"
    )

    analytics = sub.add_parser("analytics", help="customer-value segmentation")
    analytics_sub = analytics.add_subparsers(dest="analytics_command", required=True, metavar="{run}")
    analytics_sub.add_parser(
        "run",
        parents=[data],
        help="segment the customers now and print a summary (progress on stderr)",
    )
    add_agent_parsers(sub, data)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """Errors whose message tells the user what to fix: shown without a traceback."""
    from acd import QueueConfigError
    from agent_console.server import ConsoleStartupError
    from bankcti.cli.ivr import ReloadError
    from crm_core.db import DatabaseSetupError
    from ivr import MenuError

    # OSError: a port already in use, an unwritable data directory, a refused connection.
    return (
        UserError,
        SettingsError,
        MenuError,
        QueueConfigError,
        ReloadError,
        DatabaseSetupError,
        ConsoleStartupError,
        OSError,
    )


def _run(coro_factory: Callable[[], Coroutine[Any, Any, int]]) -> int:
    try:
        return asyncio.run(coro_factory())
    except KeyboardInterrupt:
        return 130


def _data_dir_use(args: argparse.Namespace, settings: Settings) -> str:
    """How the command uses the data directory: ``"creates"``, ``"needs"`` or ``"none"``.

    Only ``demo`` (it seeds a fresh directory) and ``db upgrade`` (it creates the database
    there) may create a missing one.  Every other command refuses a missing directory before
    touching anything, so a mistyped ``--data-dir`` or ``BANKCTI_DATA_DIR`` never leaves a new
    directory, a new hashing key or an empty SQLite file behind.

    With a PostgreSQL ``database_url`` the database needs no directory, but the directory still
    holds the install's pepper (``account-pepper``), the key of every account-number, ID-number
    and PIN hash stored in that database: ``serve`` and ``import customers`` need it whatever the
    database, since a fresh pepper next to an existing database would make every hash lookup miss
    without an error.  ``analytics run`` and ``commission run`` hash nothing: they need the
    directory only for the default SQLite file inside it.
    """
    command = args.command
    if command == "demo" or command == "db":
        return "creates"
    if command in {"serve", "import"}:
        return "needs"  # the pepper (and the pid file, history spool and console sessions of serve)
    if command in {"analytics", "commission", "agents", "admin"}:
        return "needs" if not settings.database_url else "none"
    if command == "prompts":
        return "needs" if args.out is None else "none"  # the default --out is <data_dir>/sounds
    # ivr reload only reads the pid file (its absence is its own clear error); ivr check and the
    # benchmarks do not use the data directory (bench pop and bench analytics use scratch databases).
    return "none"


def _check_data_dir(args: argparse.Namespace, settings: Settings) -> None:
    directory = settings.data_dir
    if _data_dir_use(args, settings) != "needs" or directory.is_dir():
        return
    quoted = shlex.quote(str(directory))
    if directory.exists():
        raise UserError(f"data directory {directory} is not a directory")
    raise UserError(
        f"data directory {directory} does not exist (nothing was created); create it with "
        f"`bankcti db upgrade --data-dir {quoted}`, "
        f"or seed a demo one with `bankcti demo --data-dir {quoted}`"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir.resolve()
    if args.command == "demo":
        overrides["simulator_enabled"] = True
        # Demo callers phone at any hour: office-hours queues stay open.
        overrides["ivr_ignore_business_hours"] = True
        if args.port is not None:
            overrides["http_port"] = args.port
    try:
        settings = load_settings(args.config, overrides=overrides)
    except SettingsError as exc:
        print(f"bankcti: {exc}", file=sys.stderr)
        return 1
    configure_logging(settings.log_level, settings.log_format)
    try:
        _check_data_dir(args, settings)
        return _dispatch(args, settings)
    except _user_errors() as exc:
        print(f"bankcti: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "import" and args.import_command == "customers":
        # Before `commands`: importing needs the CRM only, not the whole service (a second saved).
        from bankcti.cli.importing import import_customers

        return _run(
            lambda: import_customers(
                settings,
                args.file,
                skip_bad=args.skip_bad,
                owner=args.owner,
                region=args.region,
                report_path=args.report,
                dry_run=args.dry_run,
            )
        )
    if args.command == "ivr":
        from bankcti.cli.ivr import ivr_check, ivr_reload

        return ivr_check(settings, args.files) if args.ivr_command == "check" else ivr_reload(settings)
    if args.command == "prompts":
        from bankcti.cli.prompts import parse_languages, prompts_build

        return prompts_build(settings, args.out, parse_languages(args.lang))
    if args.command == "analytics":
        from bankcti.cli.analytics import analytics_run

        return _run(lambda: analytics_run(settings))
    if args.command == "bench" and args.bench_command == "analytics":
        from bankcti.bench.analytics import bench_analytics

        return _run(
            lambda: bench_analytics(
                settings, transactions=args.transactions, customers=args.customers, json_path=args.json_path
            )
        )
    if args.command == "bench" and args.bench_command == "report":
        from bankcti.bench.report import BenchReportError, report_command

        try:
            return report_command(args.results, args.readme)
        except BenchReportError as exc:
            raise UserError(str(exc)) from None
    if args.command == "bench" and args.bench_command == "history":
        from bankcti.bench.history import HistoryBenchError
        from bankcti.bench.history_cli import bench_history

        try:
            return bench_history(args, settings)
        except HistoryBenchError as exc:
            raise UserError(str(exc)) from None
    if args.command == "bench" and args.bench_command == "fastagi":
        from bankcti.bench.fastagi import FastAgiBenchError
        from bankcti.bench.fastagi_cli import bench_fastagi

        try:
            return bench_fastagi(args)
        except FastAgiBenchError as exc:
            raise UserError(str(exc)) from None
    if args.command == "bench" and args.bench_command == "route":
        from bankcti.bench.route import RouteBenchError, run_route_benchmark

        try:
            return run_route_benchmark(
                agents=args.agents,
                skills=args.skills,
                queues=args.queues,
                events=args.events,
                seed=args.seed,
                json_path=args.json_path,
            )
        except RouteBenchError as exc:
            raise UserError(str(exc)) from None
    if args.command == "bench" and args.bench_command == "soak":
        from bankcti.bench.soak import SoakBenchError, soak_command

        try:
            return _run(lambda: soak_command(args, settings))
        except SoakBenchError as exc:
            raise UserError(str(exc)) from None
    if args.command == "bench" and args.bench_command == "wallboard":
        from bankcti.bench.wallboard import WallboardBenchError, run_wallboard_benchmark

        try:
            return _run(
                lambda: run_wallboard_benchmark(
                    rate=args.rate,
                    seconds=args.seconds,
                    agents=args.agents,
                    queues=args.queues,
                    interval=args.interval,
                    postgres_url=args.postgres,
                    json_path=args.json_path,
                )
            )
        except WallboardBenchError as exc:
            raise UserError(str(exc)) from None
    if args.command in ("agents", "admin"):
        from bankcti.cli.agents import runner

        return _run(runner(args, settings))
    if args.command == "commission":
        from bankcti.cli.commission import commission_run

        return _run(lambda: commission_run(settings, args.period))
    # Imported here so `bankcti --help` stays fast and a broken optional piece
    # cannot stop unrelated commands.
    from bankcti.cli import commands

    if args.command == "serve":
        return _run(lambda: commands.serve(settings))
    if args.command == "demo":
        return _run(lambda: commands.demo(settings, ami_port=args.ami_port, fastagi_port=args.fastagi_port))
    if args.command == "db":
        return _run(lambda: commands.db_upgrade(settings))
    if args.command == "bench" and args.bench_command == "pop":
        if args.rate < 0 or args.duration < 0 or (args.rate > 0) != (args.duration > 0):
            raise UserError("bench pop: --rate and --duration go together, both positive")
        return _run(
            lambda: commands.bench_pop(
                settings,
                args.calls,
                args.agents,
                args.json_path,
                rate=args.rate,
                duration=args.duration,
                client_processes=args.client_processes,
            )
        )
    raise UserError(f"unknown command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
