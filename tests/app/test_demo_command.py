"""`bankcti demo` as a user runs it: a process that serves the console and takes calls."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import sys
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _live_calls(db: Path) -> list[tuple[str, str | None]]:
    """Interactions of calls taken while the demo ran (seeded history has other ids)."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT call_id, outcome FROM interactions").fetchall()
    return [(call_id, outcome) for call_id, outcome in rows if call_id and re.fullmatch(r"\d+\.\d+", call_id)]


async def test_demo_serves_the_console_and_records_simulated_calls(tmp_path: Path) -> None:
    http_port = _free_port()
    env = {
        **os.environ,
        "BANKCTI_AMI_PORT": str(_free_port()),
        "BANKCTI_FASTAGI_PORT": str(_free_port()),
        "BANKCTI_SIMULATOR_CALL_INTERVAL": "0.3",
        "BANKCTI_SIMULATOR_TALK_SECONDS": "0.5",
        "BANKCTI_SIMULATOR_AGENT_ANSWER_DELAY": "0.2",
        "BANKCTI_ACD_WRAPUP_SECONDS": "0",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", "demo", "--port", str(http_port), "--data-dir", str(tmp_path),
        cwd=tmp_path.anchor,  # any directory works
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as http:
            async with asyncio.timeout(30):
                while True:
                    try:
                        if (await http.get("/api/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.2)
            page = await http.get("/")
            assert page.status_code == 200 and "bankcti" in page.text
            login = await http.post("/api/login", json={"login": "agent1", "password": "demo"})
            assert login.status_code == 200
        db = tmp_path / "bankcti.db"
        async with asyncio.timeout(60):
            while not any(outcome == "answered" for _, outcome in _live_calls(db)):  # noqa: ASYNC110
                await asyncio.sleep(0.5)
    finally:
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            _, stderr = await process.communicate()
    text = stderr.decode()
    assert process.returncode == 0, text[-2000:]
    assert "log in as: agent1 / demo" in text
    assert str(tmp_path) in text
    assert "Traceback" not in text
