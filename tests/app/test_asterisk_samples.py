"""The Asterisk samples of ``config/asterisk/`` hold everything bankcti sends calls to.

Read as Asterisk reads them (:mod:`asterisk_conf`): the demo's devices ring a phone of
``[agents]`` (a supervisor's too, for listen / whisper / barge); the dial context, its
``queue`` / ``agent`` / number extensions and the parking lot named by the code exist;
features.conf maps the attended-transfer code and plays no transfer prompt (which
swallows the first digit of an AMI Atxfer, trace k3); pjsip.conf's endpoints enter
contexts that exist and name auths and aors that exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from asterisk_conf import Context, Section, dialplan, find_extension, matches, read_conf, resolved

from bankcti.callbacks.dialling import DIAL_CONTEXT as CALLBACK_CONTEXT
from bankcti.settings import Settings
from crm_core.contact_center.agents import AgentDirectory
from crm_core.db import create_engine, session_factory, upgrade
from crm_core.demo.seed import SUPERVISOR_LOGIN, seed_demo
from cti.control_types import ControlSettings, TransferKind
from cti.simulator.dialplan.control import CONTROL_CONTEXTS, PSTN_CONTEXT

SAMPLES = Path(__file__).resolve().parents[2] / "config" / "asterisk"
LOCAL_DEVICE = re.compile(r"^Local/(?P<exten>[^@/]+)@(?P<context>[^/]+)(/n)?$")


@pytest.fixture(scope="module")
def contexts() -> dict[str, Context]:
    return dialplan(SAMPLES / "extensions.conf")


@pytest.mark.parametrize(
    ("pattern", "dialled", "expected"),
    [
        ("1001", "1001", True),
        ("1001", "10011", False),
        ("_100X", "1001", True),
        ("_100X", "1900", False),  # the demo supervisor against the old [agents] pattern
        ("_1XXX", "1900", True),
        ("_1XXX", "190", False),
        ("_1XXX", "19000", False),
        ("_1xxx", "1234", True),  # X, Z and N in either case
        ("_Z", "0", False),
        ("_Z", "1", True),
        ("_N", "1", False),
        ("_N", "2", True),
        ("_[13-5]", "4", True),
        ("_[13-5]", "2", False),
        ("_X.", "1", False),  # '.' is one or more
        ("_X.", "12", True),
        ("_X!", "1", True),  # '!' is zero or more
        ("_+X.", "+8613800138000", True),
        ("_X.", "+8613800138000", False),
        ("_1-800-NXX", "1800234", True),  # '-' outside brackets is ignored
        ("_95588", "95588", True),
        ("_X.", "queue", False),
        ("queue", "queue", True),
    ],
)
def test_extension_patterns_match_as_in_asterisk(pattern: str, dialled: str, expected: bool) -> None:
    assert matches(pattern, dialled) is expected


async def _demo_devices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[str, str]]:
    """login -> (role, device) of every agent `bankcti demo` seeds, from a real (SQLite) database."""
    monkeypatch.setattr("crm_core.contact_center.agents.SCRYPT_N", 2**10)  # cheap hashes: only devices matter
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        await seed_demo(sessions, customers=2, pepper=b"p" * 32)
        profiles = await AgentDirectory(sessions).list_agents(include_inactive=True)
    finally:
        await engine.dispose()
    return {p.login: (p.role, p.device) for p in profiles}


async def test_every_demo_device_rings_a_phone_of_the_sample_dialplan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, contexts: dict[str, Context]
) -> None:
    devices = await _demo_devices(tmp_path, monkeypatch)
    assert devices[SUPERVISOR_LOGIN][0] == "supervisor"  # ChanSpy rings the supervisor's device
    unreachable = []
    for login, (_role, device) in sorted(devices.items()):
        local = LOCAL_DEVICE.match(device)
        assert local, f"{login}: demo device {device} is not a Local channel of the sample dialplan"
        if find_extension(contexts, local["context"], local["exten"]) is None:
            unreachable.append(f"{login}: {device}")
    assert not unreachable, "devices no extension of the sample dialplan answers: " + ", ".join(unreachable)


def test_the_dial_context_has_every_extension_bankcti_sends_calls_to(contexts: dict[str, Context]) -> None:
    control = ControlSettings()
    assert control.dial_context == CALLBACK_CONTEXT == "bankcti-dial"
    for dialled in (
        TransferKind.QUEUE.value,
        TransferKind.AGENT.value,
        "95588",
        "013800138000",
        "+8613800138000",
    ):
        assert find_extension(contexts, control.dial_context, dialled), f"{dialled}@{control.dial_context}"
    # Whatever the simulator pretends Asterisk has (bar its stand-in for the phone network) is in the samples.
    for name in CONTROL_CONTEXTS:
        assert name == PSTN_CONTEXT or name in contexts, name


def test_calls_from_the_trunk_and_transfers_to_a_queue_reach_bankcti(contexts: dict[str, Context]) -> None:
    globals_ = next(s for s in read_conf(SAMPLES / "extensions.conf") if s.name == "globals")
    assert globals_.get("BANKCTI_AGI") == f"agi://127.0.0.1:{Settings().fastagi_port}"
    for dialled in ("95588", "s", "02150001000"):
        assert find_extension(contexts, "from-pstn", dialled), dialled
    inbound = [app for _, app in contexts["bankcti-inbound"].steps if app.startswith("AGI(")]
    to_queue = [
        app for exten, app in contexts["bankcti-dial"].steps if exten == "queue" and app.startswith("AGI(")
    ]
    # "inbound" is the FastAGI route bankcti serves (bankcti.app); the flow reads BANKCTI_TRANSFER_QUEUE.
    assert inbound == to_queue == ["AGI(${BANKCTI_AGI}/inbound)"]


def test_every_dial_that_bridges_an_agent_allows_feature_transfers(contexts: dict[str, Context]) -> None:
    # AMI Atxfer only queues the feature code as DTMF: a Dial without t/T hands it to the customer (k2).
    dials = [
        (context.name, exten, app)
        for context in contexts.values()
        for exten, app in context.steps
        if app.startswith("Dial(") and context.name in ("bankcti-dial", "from-agents")
    ]
    assert len(dials) >= 4
    for name, exten, app in dials:
        options = app.removeprefix("Dial(").removesuffix(")").split(",")
        assert len(options) >= 3 and {"t", "T"} <= set(options[2]), f"{exten}@{name}: {app}"


def _section(sections: list[Section], name: str) -> Section:
    found = [s for s in sections if s.name == name]
    assert len(found) == 1, f"[{name}]: {len(found)} sections"
    return found[0]


def test_the_parking_lot_of_hold_exists() -> None:
    lots = read_conf(SAMPLES / "res_parking.conf")
    lot = _section(lots, ControlSettings().parking_lot)
    first, last = (int(n) for n in (lot.get("parkpos") or "").split("-"))
    assert (first, last) == (701, 720)  # the spaces of the real traces (j1: ParkingSpace 701)
    assert lot.get("context") == "parkedcalls"
    assert lot.get("comebacktoorigin") == "yes"  # a forgotten held call rings its agent again (trace j2)
    assert int(lot.get("parkingtime") or "0") > 0


def test_features_map_the_attended_transfer_and_play_no_prompt() -> None:
    features = read_conf(SAMPLES / "features.conf")
    general = _section(features, "general")
    assert general.all("transferannouncesound") == [""]  # set, and empty (trace k4)
    atxfer = _section(features, "featuremap").get("atxfer")
    assert atxfer and re.fullmatch(r"[0-9*#]{1,4}", atxfer), atxfer


def _objects(sections: list[Section]) -> dict[tuple[str, str], dict[str, list[str]]]:
    """(type, name) -> options of every non-template pjsip.conf section."""
    objects: dict[tuple[str, str], dict[str, list[str]]] = {}
    for section in sections:
        if section.is_template:
            continue
        options = resolved(sections, section)
        kind = options.get("type", ["?"])[-1]
        assert (kind, section.name) not in objects, f"two {kind} objects [{section.name}]"
        objects[(kind, section.name)] = options
    return objects


def test_pjsip_endpoints_are_complete_and_enter_existing_contexts(contexts: dict[str, Context]) -> None:
    objects = _objects(read_conf(SAMPLES / "pjsip.conf"))
    endpoints = {name: o for (kind, name), o in objects.items() if kind == "endpoint"}
    assert {"1001", "1002", "1003", "1004", "1900", "trunk"} <= set(endpoints)
    assert endpoints["trunk"]["context"][-1] == "from-pstn"
    for name, options in endpoints.items():
        assert options["context"][-1] in contexts, f"endpoint {name}: context {options['context'][-1]}"
        assert ("transport", options["transport"][-1]) in objects, f"endpoint {name}: transport"
        for key, kind in (("aors", "aor"), ("auth", "auth"), ("outbound_auth", "auth")):
            for ref in options.get(key, []):
                assert (kind, ref) in objects, f"endpoint {name}: {key} = {ref}"
        assert options["direct_media"][-1] == "no", f"endpoint {name}: ChanSpy and hold need the media"
    for (kind, name), options in objects.items():
        if kind == "identify":
            assert ("endpoint", options["endpoint"][-1]) in objects, name
        if kind == "registration":
            assert ("auth", options["outbound_auth"][-1]) in objects, name
    # The phones can ring each other, and bankcti's PJSIP/<number>@trunk names this endpoint.
    for name in ("1001", "1900"):
        assert find_extension(contexts, endpoints[name]["context"][-1], name), name
    assert any("PJSIP/${EXTEN}@trunk" in app for _, app in contexts["bankcti-dial"].steps)
