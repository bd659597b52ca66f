"""The console an agent-account test talks to (see conftest), and its helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent_console.server import ConsoleServer
from crm_core.models import Agent, AuditLog

#: login → (role, password) of the staff every test starts with.
STAFF = {
    "root": ("admin", "root-pass-1"),
    "sue": ("supervisor", "sue-pass-1"),
    "ann": ("agent", "ann-pass-1"),
}


@dataclass
class AdminConsole:
    app: FastAPI
    server: ConsoleServer
    http: httpx.AsyncClient
    sessions: async_sessionmaker[AsyncSession]
    tokens: dict[str, str] = field(default_factory=dict)

    async def login(self, login: str, password: str | None = None) -> httpx.Response:
        password = password if password is not None else STAFF[login][1]
        return await self.http.post("/api/login", json={"login": login, "password": password})

    async def token(self, login: str, password: str | None = None) -> str:
        if login not in self.tokens:
            answer = await self.login(login, password)
            assert answer.status_code == 200, answer.text
            self.tokens[login] = str(answer.json()["token"])
        return self.tokens[login]

    async def call(self, method: str, path: str, login: str, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(login)}"}
        return await self.http.request(method, path, headers=headers, **options)

    async def audit_rows(self, entity: str = "agent") -> list[AuditLog]:
        async with self.sessions() as session:
            query = select(AuditLog).where(AuditLog.entity == entity).order_by(AuditLog.id)
            return list((await session.scalars(query)).all())

    async def agent_count(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(Agent)) or 0)
