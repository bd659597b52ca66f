"""Configuration and scripting dataclasses of the PBX simulator.

These are the public knobs of :class:`~cti.simulator.PbxSimulator`: how the
simulated Asterisk listens and behaves (:class:`SimulatorConfig`), how an
agent's phone reacts to a call (:class:`AgentPhone`) and how a customer
behaves on an inbound call (:class:`CallerScript`).  Durations are in
*simulated* seconds; :attr:`SimulatorConfig.speed` divides all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AgentPhone", "CallResult", "CallerScript", "SimulatorConfig"]


@dataclass
class SimulatorConfig:
    """How the simulated Asterisk 22 listens and how fast simulated time runs.

    ``ami_port=0`` picks a free port (read it back from
    :attr:`PbxSimulator.ami_port`).  ``agi_host``/``agi_port`` is where the
    service's FastAGI server listens: every ``AGI()`` application connects
    there.  ``channelvars`` mirrors ``manager.conf``'s ``channelvars``: each
    name appears as a ``ChanVariable: NAME=value`` line in events carrying a
    channel snapshot.  ``speed > 1`` makes prompts, waits and ringing
    proportionally shorter (tests use 20–100).

    ``login_failure_delay`` is the pause (real seconds, not scaled by
    ``speed``) before ``Authentication failed`` is answered, as Asterisk
    does; ``auth_timeout`` closes connections that never log in.
    """

    ami_host: str = "127.0.0.1"
    ami_port: int = 0
    ami_username: str = "bankcti"
    ami_secret: str = "bankcti-secret"
    agi_host: str = "127.0.0.1"
    agi_port: int = 4573
    inbound_script: str = "inbound"
    channelvars: tuple[str, ...] = ()
    speed: float = 1.0
    prompt_ms: int = 1400
    answer_ms: int = 500
    version: str = "22.10.1"
    login_failure_delay: float = 1.0
    auth_timeout: float = 30.0
    #: features.conf as bankcti's sample writes it (``config/asterisk/features.conf``):
    #: ``[featuremap] atxfer => *2``, the default ``atxferabort`` ``*1`` and an empty
    #: ``transferannouncesound`` (the stock ``pbx-transfer`` makes the transfer stall, trace k3).
    atxfer_code: str = "*2"
    atxfer_abort_code: str = "*1"
    transfer_announce_sound: str = ""

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed}")
        if self.prompt_ms < 0 or self.answer_ms < 0:
            raise ValueError("prompt_ms and answer_ms must not be negative")
        self.channelvars = tuple(self.channelvars)


@dataclass
class AgentPhone:
    """An agent's device: it rings, maybe answers, talks, hangs up.

    ``device`` is the dial string Asterisk would use: ``"Local/1001@agents"``
    (a Local channel into the ``agents`` context) or ``"PJSIP/1001"`` (one
    SIP channel).  ``answers=False`` never answers, so a ``Dial`` runs into
    its timeout (``NOANSWER``).  ``talk_seconds=None`` keeps the call up
    until the other side hangs up.  ``reject_cause`` refuses every call at
    once with that Q.850 cause (PJSIP phones), as a phone already on a call
    (17, ``BUSY``) or a congested route (34, ``CONGESTION``) does; a device with no phone
    registered at all gives ``CHANUNAVAIL`` (see
    :meth:`~cti.simulator.PbxSimulator.remove_phone`).  ``call_waiting=False``
    (PJSIP phones) refuses a call with cause 17 (``BUSY``) only while the
    phone is already on another call, as a phone without call waiting does.
    """

    device: str
    answer_after: float = 2.0
    answers: bool = True
    talk_seconds: float | None = None
    reject_cause: int | None = None
    call_waiting: bool = True

    def __post_init__(self) -> None:
        tech, sep, resource = self.device.partition("/")
        if not sep or not resource or tech not in ("Local", "PJSIP"):
            raise ValueError(
                f"device must be 'Local/<exten>@<context>' or 'PJSIP/<name>', got {self.device!r}"
            )
        if tech == "Local" and "@" not in resource:
            raise ValueError(f"Local device needs '<exten>@<context>', got {self.device!r}")
        if self.answer_after < 0 or (self.talk_seconds is not None and self.talk_seconds < 0):
            raise ValueError("answer_after and talk_seconds must not be negative")
        if not self.call_waiting and tech != "PJSIP":
            raise ValueError(f"call_waiting=False needs a PJSIP device, got {self.device!r}")
        if self.reject_cause is not None and not 1 <= self.reject_cause <= 127:
            raise ValueError(f"reject_cause must be a Q.850 cause 1..127, got {self.reject_cause!r}")
        if self.reject_cause is not None and tech != "PJSIP":
            raise ValueError("reject_cause is for PJSIP phones (a Local device runs the agents dialplan)")


@dataclass
class CallerScript:
    """A customer calling the bank (see :meth:`PbxSimulator.place_call`).

    ``keys`` holds one entry per digit-reading AGI command (``GET DATA``,
    ``WAIT FOR DIGIT``, ``STREAM FILE`` with escape digits...), in order:
    the entry's digits are pressed, ``key_delay`` apart, while that command
    runs; digits left when the command ends are dropped, ``""`` presses
    nothing.  ``caller_id`` ``""`` means no caller ID, ``"anonymous"`` a
    withheld one.
    """

    caller_id: str
    caller_name: str = ""
    dnid: str = "95588"
    keys: list[str] = field(default_factory=list)
    key_delay: float = 0.2
    hangup_after_answer: float | None = None
    hangup_after: float | None = None

    def __post_init__(self) -> None:
        allowed = set("0123456789*#ABCD")
        for entry in self.keys:
            if not set(entry) <= allowed:
                raise ValueError(f"keys may only hold DTMF digits 0-9*#A-D, got {entry!r}")
        if self.key_delay < 0:
            raise ValueError("key_delay must not be negative")


@dataclass
class CallResult:
    """Outcome of one simulated inbound call.

    ``answered_by`` is the device of the phone that answered (if any),
    ``dial_statuses`` the ``DIALSTATUS`` of every ``Dial`` the service made,
    ``hangup_cause`` the Q.850 cause of the inbound channel's ``Hangup``
    event and ``duration`` the wall-clock seconds from placement to hangup.
    """

    linkedid: str
    answered_by: str | None
    dial_statuses: list[str]
    hangup_cause: int
    duration: float
