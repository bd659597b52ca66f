"""An embedded stack: the PBX simulator and a bankcti service wired together.

Used by the demo, the benchmarks and the end-to-end tests, so all three run
the very same wiring: the simulator's AMI server on a free port (or the one
asked for), the service connecting to it, and the simulator's FastAGI client
pointed at the service's FastAGI port once that is bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bankcti.app import Service
from bankcti.bus import EventBus
from bankcti.settings import Settings
from cti.simulator import AgentPhone, PbxSimulator, SimulatorConfig

__all__ = ["EmbeddedStack"]


class EmbeddedStack:
    """``async with EmbeddedStack(settings) as stack:`` — simulator + service."""

    def __init__(
        self,
        settings: Settings,
        *,
        speed: float = 1.0,
        phones: Iterable[AgentPhone] = (),
        bus: EventBus | None = None,
        http_port: int = 0,
        ami_port: int = 0,
        fastagi_port: int = 0,
    ) -> None:
        # The ports to listen on, whatever the settings say (those name a real Asterisk's):
        # 0, the default, is a free port chosen by the system, read back once bound.
        self._base = settings
        self._speed = speed
        self._phones = list(phones)
        self._bus = bus
        self._http_port = http_port
        self._ami_port = ami_port
        self._fastagi_port = fastagi_port
        self.simulator: PbxSimulator | None = None
        self.service: Service | None = None

    async def start(self) -> EmbeddedStack:
        base = self._base
        self.simulator = PbxSimulator(
            SimulatorConfig(
                ami_host=base.ami_host,
                ami_port=self._ami_port,
                ami_username=base.ami_username,
                ami_secret=base.ami_secret,
                agi_host=base.fastagi_host,
                agi_port=base.fastagi_port,
                speed=self._speed,
            )
        )
        for phone in self._phones:
            self.simulator.add_phone(phone)
        await self.simulator.start()
        updates: dict[str, Any] = {
            "ami_port": self.simulator.ami_port,
            "http_port": self._http_port,
            "fastagi_port": self._fastagi_port,
        }
        settings = base.model_copy(update=updates)
        self.service = Service(settings, bus=self._bus)
        try:
            await self.service.start()
        except BaseException:
            await self.simulator.close()
            raise
        # The FastAGI port is known only now (port 0): point Asterisk's stand-in at it.
        self.simulator.config.agi_port = self.service.ports.fastagi
        return self

    def add_phone(self, phone: AgentPhone) -> None:
        assert self.simulator is not None
        self.simulator.add_phone(phone)

    @property
    def http_url(self) -> str:
        assert self.service is not None
        return f"http://{self._base.http_host}:{self.service.ports.http}"

    async def close(self) -> None:
        if self.service is not None:
            await self.service.close()
        if self.simulator is not None:
            await self.simulator.close()

    async def __aenter__(self) -> EmbeddedStack:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
