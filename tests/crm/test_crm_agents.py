"""Agents: scrypt password encoding, authentication, creation rules."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contact_center.agents import (
    AgentDirectory,
    AgentExistsError,
    AgentProfile,
    hash_password,
    verify_password,
)
from crm_core.models import Agent


def test_hash_format_and_verify() -> None:
    encoded = hash_password("s3cret")
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
    assert hash_password("s3cret") != encoded  # a fresh salt each time
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret ", encoded)
    assert not verify_password("", encoded)
    assert verify_password("密码", hash_password("密码"))


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain-text-password",
        "bcrypt$16384$8$1$00$00",
        "scrypt$16384$8$1$zz$zz",
        "scrypt$16384$8$1$00112233$0011",  # digest of the wrong size
        "scrypt$1000$8$1$00112233$" + "00" * 32,  # n not a power of two
        "scrypt$1073741824$8$1$00112233$" + "00" * 32,  # n absurdly large: refused, not computed
        "scrypt$16384$8$1$00112233$" + "00" * 32 + "$extra",
    ],
)
def test_malformed_hashes_never_verify(encoded: str) -> None:
    started = time.perf_counter()
    assert verify_password("anything", encoded) is False
    assert time.perf_counter() - started < 1.0


async def test_authenticate_right_and_wrong_password(sessions: async_sessionmaker[AsyncSession]) -> None:
    agents = AgentDirectory(sessions)
    created = await agents.create_agent(
        "agent1", "Liu Yang", "demo", extension="1001", queues=["accounts", "general"]
    )
    assert created == AgentProfile(
        id=created.id,
        login="agent1",
        name="Liu Yang",
        role="agent",
        extension="1001",
        device="Local/1001@agents",
        queues=["accounts", "general"],
    )
    assert await agents.authenticate("agent1", "demo") == created
    assert await agents.authenticate("agent1", "Demo") is None
    assert await agents.authenticate("agent1", "") is None
    assert await agents.authenticate("nobody", "demo") is None
    assert await agents.authenticate("agent1", "x" * 5000) is None
    async with sessions() as session:
        stored = await session.scalar(select(Agent.password_hash).where(Agent.login == "agent1"))
    assert stored is not None and stored.startswith("scrypt$") and "demo" not in stored


async def test_inactive_agent_cannot_log_in(sessions: async_sessionmaker[AsyncSession]) -> None:
    agents = AgentDirectory(sessions)
    await agents.create_agent("gone", "Former Agent", "demo", extension="1050", active=False)
    assert await agents.authenticate("gone", "demo") is None
    assert [a.login for a in await agents.list_agents()] == []
    assert [a.login for a in await agents.list_agents(include_inactive=True)] == ["gone"]
    assert (await agents.get("gone")) is not None


async def test_hashing_does_not_block_the_event_loop(sessions: async_sessionmaker[AsyncSession]) -> None:
    agents = AgentDirectory(sessions)
    await agents.create_agent("agent1", "Liu Yang", "demo", extension="1001")
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    try:
        async with asyncio.timeout(10):
            await asyncio.gather(*(agents.authenticate("agent1", "demo") for _ in range(4)))
    finally:
        task.cancel()
    # Four scrypt runs take well over 20 ms; the loop kept turning meanwhile.
    assert ticks >= 5


async def test_create_agent_rules(sessions: async_sessionmaker[AsyncSession]) -> None:
    agents = AgentDirectory(sessions)
    await agents.create_agent(
        "super1", "Zhou Min", "demo", extension="1900", role="supervisor", device="PJSIP/1900"
    )
    with pytest.raises(AgentExistsError):
        await agents.create_agent("super1", "Other", "demo", extension="1901")
    bad: list[tuple[dict[str, Any], str]] = [
        ({"login": "bad login"}, "login"),
        ({"login": ""}, "login"),
        ({"extension": "10a1"}, "extension"),
        ({"role": "root"}, "role"),
        ({"name": "  "}, "name"),
        ({"password": ""}, "password"),
        ({"queues": ["a,b"]}, "queue"),
    ]
    for override, message in bad:
        args: dict[str, Any] = {"login": "agent9", "name": "N", "password": "pw", "extension": "1009"}
        with pytest.raises(ValueError, match=message):
            await agents.create_agent(**{**args, **override})
    profiles = await agents.list_agents()
    assert [(p.login, p.role, p.device) for p in profiles] == [("super1", "supervisor", "PJSIP/1900")]
