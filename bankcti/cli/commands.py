"""What each CLI command does (the CLI module only parses arguments)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import sys
from pathlib import Path

from bankcti.app import Service
from bankcti.settings import Settings
from bankcti.stack import EmbeddedStack
from crm_core.contact_center.agents import AgentDirectory, AgentProfile
from crm_core.customers.accounts import load_or_create_pepper
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.demo.seed import DemoSummary, seed_demo
from cti.simulator import AgentPhone, CallerScript, CallGenerator

__all__ = ["bench_pop", "db_upgrade", "demo", "serve"]

log = logging.getLogger(__name__)

# Agents the demo leaves for a person to log in as; the others answer by themselves.
HUMAN_AGENTS = ("agent1", "agent2")


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _prepare_data_dir(settings: Settings) -> None:
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


async def serve(settings: Settings) -> int:
    service = Service(settings)
    await service.start()
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


async def demo(settings: Settings) -> int:
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
    async with EmbeddedStack(settings, phones=phones, fixed_ports=True) as stack:
        assert stack.service is not None and stack.simulator is not None
        for agent in agents:
            if agent.role == "agent" and agent.login not in HUMAN_AGENTS:
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
        lines = [
            "",
            "bankcti demo is running.",
            f"  console:   {stack.http_url}/   (API docs: /docs)",
            "  log in as: agent1 / demo   or agent2 / demo   (supervisor: super1 / demo)",
            f"  data:      {settings.data_dir}   (database: {database})",
            f"  PBX:       simulated Asterisk, AMI on {ami}, "
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
    return 0


async def bench_pop(settings: Settings, calls: int, agents: int, json_path: Path | None) -> int:
    from bankcti.bench.pop import run_pop_benchmark

    return await run_pop_benchmark(settings, calls=calls, agents=agents, json_path=json_path)
