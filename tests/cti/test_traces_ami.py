"""Every recorded AMI byte stream parses with AmiParser, whole or in tiny chunks."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from ami_trace_files import TRACES

from cti.ami.message import AmiMessage, AmiParser, encode, parse_all

AMI_FILES = sorted(TRACES.glob("ami-*.raw"))
SERVER_FILES = [p for p in AMI_FILES if p.name.endswith(".server-to-client.raw")]
CLIENT_FILES = [p for p in AMI_FILES if p.name.endswith(".client-to-server.raw")]
BANNER = "Asterisk Call Manager/11.0.0"


def test_every_scenario_has_both_directions() -> None:
    assert len(SERVER_FILES) == len(CLIENT_FILES) == 27
    assert {p.name.split(".")[0] for p in SERVER_FILES} == {p.name.split(".")[0] for p in CLIENT_FILES}


@pytest.mark.parametrize("path", SERVER_FILES, ids=lambda p: p.name)
def test_server_stream_parses_into_every_message(path: Path) -> None:
    raw = path.read_bytes()
    banner, messages = parse_all(raw, expect_banner=True)
    assert banner == BANNER
    body = raw[raw.index(b"\r\n") + 2 :]
    # Counted independently: every AMI message ends with an empty line.
    assert len(messages) == body.count(b"\r\n\r\n")
    for msg in messages:
        assert ("Event" in msg) != ("Response" in msg) or msg.event == "OriginateResponse"
        assert "" not in msg.keys()  # every line was "Key: value"
    # Nothing was lost or altered: re-encoding gives the recorded bytes back, but for the one quirk the
    # parser strips on purpose: a value ending in a bare LF before its CRLF (``Park successful\n``, h–o).
    assert b"".join(encode(m.fields) for m in messages) == _BARE_LF_VALUE_END.sub(b"\r\n", body)


_BARE_LF_VALUE_END = re.compile(rb"(?<!\r)\n\r\n")


def test_a_value_ending_in_a_bare_lf_is_stripped() -> None:
    raw = (TRACES / "ami-j1-park-unpark.server-to-client.raw").read_bytes()
    assert b"Message: Park successful\n\r\n" in raw
    _banner, messages = parse_all(raw, expect_banner=True)
    [park] = [m for m in messages if m.get("ActionID") == "park-4"]
    assert park.fields == [("Response", "Success"), ("ActionID", "park-4"), ("Message", "Park successful")]


@pytest.mark.parametrize("path", CLIENT_FILES, ids=lambda p: p.name)
def test_client_stream_parses_into_every_action(path: Path) -> None:
    raw = path.read_bytes()
    banner, messages = parse_all(raw)
    assert banner is None
    assert len(messages) == raw.count(b"\r\n\r\n")
    assert b"".join(encode(m.fields) for m in messages) == raw
    without_action = [m for m in messages if "Action" not in m]
    # Only trace e2 sends a message without Action on purpose.
    assert [m.fields for m in without_action] == (
        [[("ActionID", "e2-noaction"), ("Foo", "bar")]] if "e2" in path.name else []
    )


@pytest.mark.parametrize("path", AMI_FILES, ids=lambda p: p.name)
def test_random_chunks_give_the_same_messages(path: Path) -> None:
    raw = path.read_bytes()
    server = path.name.endswith(".server-to-client.raw")
    expected_banner, expected = parse_all(raw, expect_banner=server)
    rng = random.Random(path.name)
    for _ in range(3):
        parser = AmiParser(expect_banner=server)
        got: list[AmiMessage] = []
        pos = 0
        while pos < len(raw):
            size = rng.randint(1, 7)
            got += parser.feed(raw[pos : pos + size])
            pos += size
        assert parser.banner == expected_banner
        assert [m.fields for m in got] == [m.fields for m in expected]


def load(stem: str) -> list[AmiMessage]:
    return parse_all((TRACES / f"{stem}.server-to-client.raw").read_bytes(), expect_banner=True)[1]


def test_trace_b2_shapes() -> None:
    messages = load("ami-b2-inbound-call-filtered")
    events = [m for m in messages if m.event]
    assert [m.event for m in events[:3]] == ["FullyBooted", "SuccessfulAuth", "Newchannel"]
    assert {m.event for m in events}.isdisjoint({"VarSet", "Newexten", "DeviceStateChange"})
    newchannel = events[2]
    assert newchannel.getall("ChanVariable") == ["IVR_CHOICE=", "IVR_ACCOUNT="]
    assert newchannel["AccountCode"] == ""
    originate = next(m for m in events if m.event == "OriginateResponse")
    assert originate["Response"] == "Success"
    assert originate["ChanVariable(Local/s@ivr-in-00000002;1)"] == "IVR_CHOICE="
    assert originate.variables() == {"IVR_CHOICE": "", "IVR_ACCOUNT": ""}
    queued = next(m for m in events if m.event == "QueueCallerJoin")
    assert queued.variables() == {"IVR_CHOICE": "support", "IVR_ACCOUNT": "4711"}
    complete = next(m for m in events if m.event == "QueueStatusComplete")
    assert complete["EventList"] == "Complete" and complete["ListItems"] == "2"


def test_trace_b_is_unfiltered_and_c_repeats_dial_end() -> None:
    names = [m.event for m in load("ami-b-inbound-call-ivr-queue-answer")]
    assert {"VarSet", "Newexten", "DeviceStateChange"} <= set(names)
    agent_complete = next(
        m for m in load("ami-b-inbound-call-ivr-queue-answer") if m.event == "AgentComplete"
    )
    assert "Uniqueid" not in agent_complete and "Linkedid" not in agent_complete  # no channel fields
    cancels = [
        m for m in load("ami-c-queue-caller-abandon") if m.event == "DialEnd" and m["DialStatus"] == "CANCEL"
    ]
    assert len(cancels) == 2 and cancels[0].fields == cancels[1].fields


def test_trace_e2_command_output_keeps_repeated_keys() -> None:
    command = next(m for m in load("ami-e2-bad-actions") if m.get("Message") == "Command output follows")
    output = command.getall("Output")
    assert len(output) == 6 and output[-2:] == ["", ""]
    assert output[0].startswith("support has 0 calls")
