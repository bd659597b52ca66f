"""`bankcti demo` and its ports: a busy one is refused in one line, the PBX's are free by default."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 60
STOP_TIMEOUT = 20
BANNER_END = "Press Ctrl+C to stop."
PBX_LINE = re.compile(r"AMI on 127\.0\.0\.1:(\d+), FastAGI on 127\.0\.0\.1:(\d+)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _listening() -> Iterator[int]:
    """A port another program listens on while the block runs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    # No BANKCTI_AMI_PORT / BANKCTI_FASTAGI_PORT: the shipped 5038 and 4573 stay in the settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANKCTI_")}
    env["BANKCTI_LOG_LEVEL"] = "WARNING"
    return env


async def _run(*args: str | int | Path) -> tuple[int | None, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", *map(str, args),
        env=_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(START_TIMEOUT):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("busy_option", "name", "existing"),
    [
        ("--port", "HTTP", False),
        ("--port", "HTTP", True),
        ("--ami-port", "AMI", True),
        ("--fastagi-port", "FastAGI", False),
    ],
    ids=["http-new-dir", "http-existing-dir", "ami", "fastagi"],
)
async def test_a_busy_port_is_one_line_and_nothing_is_seeded(
    tmp_path: Path, busy_option: str, name: str, existing: bool
) -> None:
    data = tmp_path / "data"
    if existing:
        data.mkdir()
    with _listening() as busy:
        ports = {"--port": _free_port(), "--ami-port": _free_port(), "--fastagi-port": _free_port()}
        ports[busy_option] = busy
        options = [str(word) for option, port in ports.items() for word in (option, port)]
        code, out, err = await _run("demo", *options, "--data-dir", data)
    assert code == 1
    assert out == ""
    assert err == f"bankcti demo: port {busy} ({name}) is in use; choose another with {busy_option}\n"
    if existing:
        assert list(data.iterdir()) == []
    else:
        assert not data.exists()


async def test_the_same_port_twice_is_refused(tmp_path: Path) -> None:
    port = _free_port()
    code, _, err = await _run("demo", "--port", port, "--ami-port", port, "--data-dir", tmp_path / "data")
    assert code == 1
    assert (
        err == f"bankcti demo: port {port} (AMI) is already the HTTP port; choose another with --ami-port\n"
    )
    assert not (tmp_path / "data").exists()


@contextlib.asynccontextmanager
async def _demo(data: Path, http_port: int) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[str]]]:
    """A running demo and the lines of its banner; stopped (killed if need be) on exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bankcti", "demo", "--port", str(http_port), "--data-dir", str(data),
        env=_env(), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert process.stderr is not None
        async with asyncio.timeout(START_TIMEOUT):
            while BANNER_END not in lines:
                line = await process.stderr.readline()
                assert line, f"the demo exited: {''.join(lines)[-2000:]}"
                lines.append(line.decode().strip())
        yield process, lines
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await process.communicate()
            except TimeoutError:
                process.kill()
                await process.wait()


async def _healthy(http_port: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{http_port}") as http:
        response = await http.get("/api/health")
        assert response.status_code == 200


async def test_two_demos_run_side_by_side_on_free_pbx_ports(tmp_path: Path) -> None:
    http_ports = [_free_port(), _free_port()]
    async with (
        _demo(tmp_path / "one", http_ports[0]) as (first, first_banner),
        _demo(tmp_path / "two", http_ports[1]) as (second, second_banner),
    ):
        for port in http_ports:
            await _healthy(port)
        pbx = []
        for banner in (first_banner, second_banner):
            found = [m for m in map(PBX_LINE.search, banner) if m]
            assert found, banner
            pbx.append((int(found[0].group(1)), int(found[0].group(2))))
        ports = [port for pair in pbx for port in pair]
        assert len(set(ports)) == 4, pbx
        assert not {5038, 4573} & set(ports)  # not the settings' ports of a real Asterisk
        for port in ports:  # every announced port is really listened on
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            writer.close()
            await writer.wait_closed()
        assert first.returncode is None and second.returncode is None
    assert first.returncode == 0 and second.returncode == 0
