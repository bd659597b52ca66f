"""What each CLI command does (the CLI module only parses arguments)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import signal
import socket
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from acd.events import AgentStateChanged
from bankcti.app import Service
from bankcti.heap import settle_heap
from bankcti.settings import Settings
from bankcti.stack import EmbeddedStack
from crm_core.contact_center.agents import AgentDirectory, AgentProfile
from crm_core.customers.accounts import load_or_create_pepper
from crm_core.db import alembic_config, create_engine, current_revision, session_factory, upgrade
from crm_core.demo.seed import DemoSummary, seed_demo
from cti.simulator import AgentPhone, CallerScript, CallGenerator

__all__ = ["bench_pop", "busy_port", "db_upgrade", "demo", "serve"]

log = logging.getLogger(__name__)

# Agents the demo leaves for a person to log in as; the others answer by themselves.
HUMAN_AGENTS = ("agent1", "agent2")
# Seconds after a call a simulated colleague saves its wrap-up (a queue may require it: config/queues.toml).
COLLEAGUE_WRAPUP_SAVE_SECONDS = 2.0


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _prepare_data_dir(settings: Settings) -> None:
    """Create the data directory: only ``db upgrade`` and ``demo`` may (see ``main._data_dir_use``)."""
    # With PostgreSQL too: the install's pepper, pid file and history spool live there.
    settings.data_dir.mkdir(parents=True, exist_ok=True)


async def db_upgrade(settings: Settings) -> int:
    _prepare_data_dir(settings)
    await upgrade(settings.effective_database_url())
    print(f"database is up to date: {_safe_url(settings.effective_database_url())}")
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password, for printing."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


async def _schema_problem(url: str) -> str | None:
    """Why the service cannot run on the database at ``url`` (never creates an SQLite file)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    revision = await current_revision(url)
    if revision == head:
        return None
    state = "has no schema yet" if revision is None else f"is at revision {revision}, not {head}"
    return f"the database {state}: run `bankcti db upgrade` first"


async def serve(settings: Settings) -> int:
    # Fail before anything listens or the pepper gets created: without the schema every call would fail.
    problem = await _schema_problem(settings.effective_database_url())
    if problem is not None:
        print(f"bankcti: {problem}", file=sys.stderr, flush=True)
        return 1
    service = Service(settings)
    await service.start()
    settle_heap()  # what the started service holds lives for ever: out of the collector's passes
    try:
        await _wait_for_signal()
    finally:
        await service.close()
    return 0


def demo_caller(known_numbers: list[str], rng: random.Random) -> CallerScript:
    """A plausible caller: mostly customers, sometimes an unknown or withheld number."""
    roll = rng.random()
    if roll < 0.75 and known_numbers:
        number = rng.choice(known_numbers)
    elif roll < 0.9:
        number = f"+86139{rng.randrange(10**8):08d}"
    else:
        number = "anonymous"
    language = rng.choice(["1", "2"])  # Mandarin / English
    # 0: an agent; 3: loans and wealth (an agent with the skill); 7: an invalid key, then an agent.
    choice = rng.choice(["0", "0", "3", "7"])
    keys = [language, choice] if choice != "7" else [language, "7", "0"]
    return CallerScript(
        caller_id=number,
        keys=keys,
        key_delay=0.6,
        hangup_after_answer=rng.uniform(15, 40),
        hangup_after=rng.uniform(120, 240),
    )


async def _seed_demo_data(settings: Settings) -> tuple[DemoSummary, list[AgentProfile]]:
    url = settings.effective_database_url()
    await upgrade(url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        pepper = load_or_create_pepper(settings.data_dir / "account-pepper")
        summary = await seed_demo(sessions, pepper=pepper)
        return summary, await AgentDirectory(sessions).list_agents()
    finally:
        await engine.dispose()


def busy_port(host: str, port: int) -> OSError | None:
    """Why ``host:port`` cannot be listened on now (in use, not allowed), or ``None``.

    Binds and closes a socket with ``SO_REUSEADDR`` as the servers do, so a port left in
    TIME_WAIT counts as free but one another process listens on does not.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        return None  # an unusable host: the server's own bind says so
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            return exc
    return None


def _demo_port_problem(settings: Settings, ami_port: int | None, fastagi_port: int | None) -> str | None:
    """The first port the demo would listen on that is taken, as one line naming its option."""
    wanted = [
        (settings.http_host, settings.http_port, "HTTP", "--port"),
        (settings.ami_host, ami_port, "AMI", "--ami-port"),
        (settings.fastagi_host, fastagi_port, "FastAGI", "--fastagi-port"),
    ]
    taken: dict[int, str] = {}
    for host, port, name, option in wanted:
        if not port:  # None or 0: a free port is chosen when listening
            continue
        if port in taken:
            return f"port {port} ({name}) is already the {taken[port]} port; choose another with {option}"
        taken[port] = name
        exc = busy_port(host, port)
        if exc is None:
            continue
        if exc.errno == errno.EADDRINUSE:
            return f"port {port} ({name}) is in use; choose another with {option}"
        reason = exc.strerror or str(exc)
        return f"port {port} ({name}) on {host} cannot be used ({reason}); choose another with {option}"
    return None


async def _colleagues_wrap_up(service: Service, logins: frozenset[str]) -> None:
    """The simulated colleagues save each required wrap-up shortly after the call, as a person would."""
    saving: set[asyncio.Task[None]] = set()

    async def save(login: str, call_id: str) -> None:
        await asyncio.sleep(COLLEAGUE_WRAPUP_SAVE_SECONDS)
        await service.acd.wrapup_saved(login, call_id)

    async for event in service.bus.subscribe():
        if (
            isinstance(event, AgentStateChanged)
            and event.wrapup_required
            and event.agent_login in logins
            and event.call_id is not None
        ):
            task = asyncio.create_task(save(event.agent_login, event.call_id), name="demo-wrapup")
            saving.add(task)
            task.add_done_callback(saving.discard)


async def demo(settings: Settings, *, ami_port: int | None = None, fastagi_port: int | None = None) -> int:
    """Seed the data directory and run the embedded stack until Ctrl+C.

    The console listens on ``settings.http_port``; the simulated PBX's AMI and the service's
    FastAGI on ``ami_port`` / ``fastagi_port``, or on free ports when not given (the settings'
    AMI and FastAGI ports are those of a real Asterisk, not of the demo's stand-in).
    """
    # Before the data directory is created or seeded: a busy port must leave nothing behind.
    problem = _demo_port_problem(settings, ami_port, fastagi_port)
    if problem is not None:
        print(f"bankcti demo: {problem}", file=sys.stderr, flush=True)
        return 1
    _prepare_data_dir(settings)
    summary, agents = await _seed_demo_data(settings)
    phones = [
        AgentPhone(
            device=agent.device,
            answer_after=settings.simulator_agent_answer_delay,
            # People's phones wait for the caller; the simulated colleagues hang up by themselves.
            talk_seconds=None if agent.login in HUMAN_AGENTS else settings.simulator_talk_seconds,
        )
        for agent in agents
        if agent.device
    ]
    stack = EmbeddedStack(
        settings,
        phones=phones,
        http_port=settings.http_port,
        ami_port=ami_port or 0,
        fastagi_port=fastagi_port or 0,
    )
    async with stack:
        assert stack.service is not None and stack.simulator is not None
        colleagues = frozenset(a.login for a in agents if a.role == "agent" and a.login not in HUMAN_AGENTS)
        wrapups = asyncio.create_task(_colleagues_wrap_up(stack.service, colleagues), name="demo-wrapups")
        for agent in agents:
            if agent.login in colleagues:
                await stack.service.set_agent_available(agent.login)
        rng = random.Random(11)
        generator = CallGenerator(
            stack.simulator,
            lambda n: demo_caller(summary.known_numbers, rng),
            interval=settings.simulator_call_interval,
        )
        generator.start()
        database = _safe_url(settings.effective_database_url())
        ami = f"{settings.ami_host}:{stack.simulator.ami_port}"
        fastagi = f"{settings.fastagi_host}:{stack.service.ports.fastagi}"
        lines = [
            "",
            "bankcti demo is running.",
            f"  console:   {stack.http_url}/   (API docs: /docs)",
            "  log in as: agent1 / demo or agent2 / demo  (supervisor: super1 / demo; admin: admin1 / demo)",
            f"  data:      {settings.data_dir}   (database: {database})",
            f"  PBX:       simulated Asterisk, AMI on {ami}, FastAGI on {fastagi}, "
            f"a call every ~{settings.simulator_call_interval:g} s",
            f"  IVR:       demo accounts answer to PIN {summary.demo_pin}, e.g. "
            + ", ".join(f"{name} {number}" for name, number in summary.demo_accounts[:2]),
            "Press Ctrl+C to stop.",
            "",
        ]
        print("\n".join(lines), file=sys.stderr, flush=True)
        try:
            await _wait_for_signal()
        finally:
            await generator.stop()
            wrapups.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await wrapups
    return 0


async def bench_pop(
    settings: Settings,
    calls: int,
    agents: int,
    json_path: Path | None,
    *,
    rate: float = 0.0,
    duration: float = 0.0,
    client_processes: int = 0,
) -> int:
    from bankcti.bench.pop import run_pop_benchmark

    return await run_pop_benchmark(
        settings,
        calls=calls,
        agents=agents,
        json_path=json_path,
        rate=rate,
        duration=duration,
        client_processes=client_processes,
    )
