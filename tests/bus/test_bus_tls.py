"""The MQTT bus over TLS, against a Mosquitto of the test's own with a TLS listener.

A throwaway CA, a server certificate (for 127.0.0.1) and a client certificate
are made with the ``openssl`` command; the broker requires a client
certificate (``require_certificate true``).  It runs on a free port of
127.0.0.1 and is killed at the end; nothing here touches the shared broker.
"""

from __future__ import annotations

import asyncio
import getpass
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acd.events import AgentStateChanged, CallOffered
from bankcti.bus import BusConnectError, MqttBus, MqttTls
from bankcti.settings import SettingsError, load_settings

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None or shutil.which("openssl") is None,
    reason="mosquitto and openssl commands are needed for the TLS broker",
)
START_TIMEOUT = 5.0  # seconds for the broker to listen
CONNECT_TIMEOUT = 4.0


@dataclass(frozen=True)
class TlsBroker:
    url: str
    ca: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing the broker shows


def _openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True, timeout=30)


def _make_ca(directory: Path, name: str) -> None:
    _openssl(
        directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.pem",
    )  # fmt: skip


def _make_cert(directory: Path, name: str, ca: str, extensions: str) -> None:
    (directory / f"{name}.ext").write_text(extensions, encoding="ascii")
    _openssl(
        directory, "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", f"{name}.key", "-out", f"{name}.csr",
    )  # fmt: skip
    _openssl(
        directory, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "1", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, broker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if broker.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {broker.stderr.read().decode() if broker.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port} within {START_TIMEOUT} s")


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    directory = tmp_path_factory.mktemp("mqtt-tls")
    _make_ca(directory, "ca")
    _make_ca(directory, "other-ca")
    _make_cert(directory, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _make_cert(directory, "client", "ca", "extendedKeyUsage=clientAuth\n")
    port = _free_port()
    config = directory / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        f"cafile {directory / 'ca.pem'}\n"
        f"certfile {directory / 'server.pem'}\n"
        f"keyfile {directory / 'server.key'}\n"
        "require_certificate true\n"
        "allow_anonymous true\n"
        "persistence false\n"
        f"user {getpass.getuser()}\n"  # as root, mosquitto would switch to a user who cannot read the keys
        "log_dest stderr\n",
        encoding="ascii",
    )
    broker = subprocess.Popen(
        ["mosquitto", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_listening(port, broker)
        yield TlsBroker(
            url=f"mqtts://127.0.0.1:{port}",
            ca=directory / "ca.pem",
            client_cert=directory / "client.pem",
            client_key=directory / "client.key",
            other_ca=directory / "other-ca.pem",
        )
    finally:
        broker.kill()
        broker.wait(timeout=10)
        if broker.stderr is not None:
            broker.stderr.close()


def _tls(broker: TlsBroker, **changes: object) -> MqttTls:
    values: dict[str, object] = {
        "ca_file": broker.ca,
        "cert_file": broker.client_cert,
        "key_file": broker.client_key,
    }
    values.update(changes)
    return MqttTls(**values)  # type: ignore[arg-type]


async def test_events_travel_over_tls(tls_broker: TlsBroker) -> None:
    prefix = f"bankcti-tls-{uuid.uuid4().hex[:8]}"
    site_a = MqttBus(
        tls_broker.url, topic_prefix=prefix, tls=_tls(tls_broker), connect_timeout=CONNECT_TIMEOUT
    )
    site_b = MqttBus(
        tls_broker.url, topic_prefix=prefix, tls=_tls(tls_broker), connect_timeout=CONNECT_TIMEOUT
    )
    await site_a.start()
    await site_b.start()
    try:
        received = site_b.subscribe()
        offered = CallOffered(call_id="1795907163.4", agent_login="agent1", queue="general")
        await site_a.publish(offered)
        await site_a.publish(AgentStateChanged(agent_login="agent1", state="available"))
        async with asyncio.timeout(5):
            assert await anext(received) == offered
            assert (await anext(received)).type == "agent.state"
    finally:
        await site_a.close()
        await site_b.close()
    assert site_a.url == tls_broker.url


@pytest.mark.parametrize(
    ("case", "changes", "reason"),
    [
        ("without the CA", {"ca_file": None}, "certificate verify failed"),  # the system's CAs do not know it
        ("with another CA", {"ca": "other"}, "certificate verify failed"),
    ],
)
async def test_a_client_that_cannot_verify_the_broker_is_refused_at_once(
    tls_broker: TlsBroker, case: str, changes: dict[str, object], reason: str
) -> None:
    if changes.pop("ca", None) == "other":
        changes["ca_file"] = tls_broker.other_ca
    bus = MqttBus(tls_broker.url, tls=_tls(tls_broker, **changes), connect_timeout=CONNECT_TIMEOUT)
    started = time.monotonic()
    with pytest.raises(BusConnectError) as refused:
        await bus.start()
    message = str(refused.value)
    assert reason in message and "TLS connection refused" in message and "ca_file" in message, case
    assert tls_broker.url in message
    assert (
        time.monotonic() - started < CONNECT_TIMEOUT
    )  # a configuration error: no retrying until the timeout


async def test_a_client_without_a_certificate_is_refused(tls_broker: TlsBroker) -> None:
    # The broker's refusal comes after the handshake: the start waits out its timeout, then says why.
    bus = MqttBus(tls_broker.url, tls=MqttTls(ca_file=tls_broker.ca), connect_timeout=2.0)
    with pytest.raises(BusConnectError) as refused:
        async with asyncio.timeout(2.0 + 3):
            await bus.start()
    message = str(refused.value)
    assert "TLS connection refused" in message and "certificate required" in message, message
    assert "cert_file" in message and tls_broker.url in message


def test_unusable_tls_files_and_settings_are_named(tls_broker: TlsBroker, tmp_path: Path) -> None:
    with pytest.raises(BusConnectError, match=r"ca_file .*missing\.pem"):
        MqttBus(tls_broker.url, tls=MqttTls(ca_file=tmp_path / "missing.pem"))
    with pytest.raises(BusConnectError, match="cert_file"):
        MqttBus(tls_broker.url, tls=MqttTls(ca_file=tls_broker.ca, cert_file=tls_broker.ca))  # no key in it
    with pytest.raises(ValueError, match="mqtts://"):
        MqttBus("mqtt://127.0.0.1:1883", tls=MqttTls(ca_file=tls_broker.ca))

    environ = {"BANKCTI_MQTT_URL": "mqtt://broker:1883", "BANKCTI_MQTT_CA_FILE": str(tls_broker.ca)}
    with pytest.raises(SettingsError, match=r"mqtt_ca_file .*TLS would not be used"):
        load_settings(environ=environ)
    environ["BANKCTI_MQTT_URL"] = "mqtts://broker:8883"
    environ["BANKCTI_MQTT_KEY_FILE"] = str(tls_broker.client_key)
    with pytest.raises(SettingsError, match=r"mqtt_key_file .*cert_file"):
        load_settings(environ=environ)
    environ["BANKCTI_MQTT_CERT_FILE"] = str(tls_broker.client_cert)
    environ["BANKCTI_MQTT_CHECK_HOSTNAME"] = "false"
    settings = load_settings(environ=environ)
    assert (settings.mqtt_ca_file, settings.mqtt_cert_file, settings.mqtt_check_hostname) == (
        tls_broker.ca,
        tls_broker.client_cert,
        False,
    )
