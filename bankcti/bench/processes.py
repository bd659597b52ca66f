"""The processes a benchmark runs, as in production: started on free ports, waited for, stopped.

Shared by the benchmarks that drive ``bankcti serve`` beside the PBX simulator
(:mod:`bankcti.bench.pop`, :mod:`bankcti.bench.soak`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys

import httpx

__all__ = ["free_port", "start_process", "stop_process", "wait_healthy"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def start_process(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )


async def wait_healthy(url: str, process: asyncio.subprocess.Process, limit: float = 30.0) -> None:
    async with httpx.AsyncClient() as http, asyncio.timeout(limit):
        while True:
            if process.returncode is not None:
                raise RuntimeError("the service exited during start-up (see its log above)")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/api/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
