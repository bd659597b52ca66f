"""Builders of the AMI events the simulator emits, key for key like Asterisk 22.

Every builder returns an :class:`~cti.ami.message.AmiMessage` whose keys come
in exactly the order seen in ``tests/fixtures/asterisk``: ``Event``,
``Privilege``, then the channel snapshot (``Channel`` … ``Linkedid``, one
``ChanVariable`` line per ``manager.conf`` ``channelvars`` name), then the
event's own keys.  Two-channel events repeat the snapshot with a ``Dest``
prefix (``LocalBridge`` uses ``LocalOne``/``LocalTwo``).
"""

from __future__ import annotations

from cti.ami.message import AmiMessage
from cti.simulator.channels import Bridge, Channel, cause_text

__all__ = ["EventFactory", "callerid_all"]

UNKNOWN = "<unknown>"
_PRES_TEXT = {
    0: "Presentation Allowed, Not Screened",
    1: "Presentation Allowed, Passed Screen",
    32: "Presentation Restricted, Not Screened",
    35: "Number Unavailable",
}


def callerid_all(channel: Channel) -> str:
    """``${CALLERID(all)}`` as ``ast_callerid_merge`` builds it: ``"Name" <number>``,
    or just the name or the number when only one is known."""
    num = channel.caller_num or ""
    name = channel.caller_name or ""
    if name and num:
        return f'"{name}" <{num}>'
    return name or num


class EventFactory:
    """Builds events; holds the ``channelvars`` that every snapshot carries."""

    def __init__(self, channelvars: tuple[str, ...]) -> None:
        self.channelvars = channelvars

    # -- snapshots ---------------------------------------------------------------
    def snapshot(self, channel: Channel, prefix: str = "") -> list[tuple[str, str]]:
        """The channel snapshot fields (``ast_manager_build_channel_state_string``)."""
        fields = [
            (prefix + "Channel", channel.name),
            (prefix + "ChannelState", str(int(channel.state))),
            (prefix + "ChannelStateDesc", channel.state.desc),
            (prefix + "CallerIDNum", channel.caller_num or UNKNOWN),
            (prefix + "CallerIDName", channel.caller_name or UNKNOWN),
            (prefix + "ConnectedLineNum", channel.connected_num or UNKNOWN),
            (prefix + "ConnectedLineName", channel.connected_name or UNKNOWN),
            (prefix + "Language", channel.language),
            (prefix + "AccountCode", channel.accountcode),
            (prefix + "Context", channel.context),
            (prefix + "Exten", channel.exten),
            (prefix + "Priority", str(channel.priority)),
            (prefix + "Uniqueid", channel.uniqueid),
            (prefix + "Linkedid", channel.linkedid),
        ]
        for var in self.channelvars:
            fields.append((prefix + "ChanVariable", f"{var}={channel.variables.get(var, '')}"))
        return fields

    def _chan_event(self, name: str, privilege: str, channel: Channel, *extra: tuple[str, str]) -> AmiMessage:
        return AmiMessage([("Event", name), ("Privilege", privilege), *self.snapshot(channel), *extra])

    def _two_chan_event(
        self, name: str, privilege: str, caller: Channel | None, dest: Channel, *extra: tuple[str, str]
    ) -> AmiMessage:
        fields = [("Event", name), ("Privilege", privilege)]
        if caller is not None:
            fields += self.snapshot(caller)
        fields += self.snapshot(dest, "Dest")
        return AmiMessage([*fields, *extra])

    # -- channel lifecycle -------------------------------------------------------
    def newchannel(self, channel: Channel) -> AmiMessage:
        return self._chan_event("Newchannel", "call,all", channel)

    def newstate(self, channel: Channel) -> AmiMessage:
        return self._chan_event("Newstate", "call,all", channel)

    def newcallerid(self, channel: Channel) -> AmiMessage:
        pres = channel.caller_pres
        text = _PRES_TEXT.get(pres, "Unknown")
        return self._chan_event("NewCallerid", "call,all", channel, ("CID-CallingPres", f"{pres} ({text})"))

    def newconnectedline(self, channel: Channel) -> AmiMessage:
        return self._chan_event("NewConnectedLine", "call,all", channel)

    def newexten(self, channel: Channel, application: str, data: str) -> AmiMessage:
        return self._chan_event(
            "Newexten",
            "dialplan,all",
            channel,
            ("Extension", channel.exten),
            ("Application", application),
            ("AppData", data),
        )

    def varset(self, channel: Channel | None, variable: str, value: str) -> AmiMessage:
        if channel is None:
            return AmiMessage(
                [
                    ("Event", "VarSet"),
                    ("Privilege", "dialplan,all"),
                    ("Channel", "none"),
                    ("Uniqueid", "none"),
                    ("Variable", variable),
                    ("Value", value),
                ]
            )
        return self._chan_event("VarSet", "dialplan,all", channel, ("Variable", variable), ("Value", value))

    def soft_hangup_request(self, channel: Channel, cause: int) -> AmiMessage:
        return self._chan_event("SoftHangupRequest", "call,all", channel, ("Cause", str(cause)))

    def hangup_request(self, channel: Channel, cause: int) -> AmiMessage:
        return self._chan_event("HangupRequest", "call,all", channel, ("Cause", str(cause)))

    def hangup(self, channel: Channel, cause: int) -> AmiMessage:
        return self._chan_event(
            "Hangup", "call,all", channel, ("Cause", str(cause)), ("Cause-txt", cause_text(cause))
        )

    def local_bridge(
        self, one: Channel, two: Channel, context: str, exten: str, optimize: bool
    ) -> AmiMessage:
        return AmiMessage(
            [
                ("Event", "LocalBridge"),
                ("Privilege", "call,all"),
                *self.snapshot(one, "LocalOne"),
                *self.snapshot(two, "LocalTwo"),
                ("Context", context),
                ("Exten", exten),
                ("LocalOptimization", "Yes" if optimize else "No"),
            ]
        )

    # -- dialing ------------------------------------------------------------------
    def dial_begin(self, caller: Channel | None, dest: Channel, dialstring: str) -> AmiMessage:
        return self._two_chan_event("DialBegin", "call,all", caller, dest, ("DialString", dialstring))

    def dial_state(self, caller: Channel | None, dest: Channel, status: str) -> AmiMessage:
        return self._two_chan_event("DialState", "call,all", caller, dest, ("DialStatus", status))

    def dial_end(self, caller: Channel | None, dest: Channel, status: str) -> AmiMessage:
        return self._two_chan_event("DialEnd", "call,all", caller, dest, ("DialStatus", status))

    def originate_response(
        self,
        action_id: str | None,
        success: bool,
        channel_name: str,
        context: str,
        exten: str,
        reason: int,
        channel: Channel | None,
        cid_num: str | None,
        cid_name: str | None,
    ) -> AmiMessage:
        fields: list[tuple[str, str]] = [("Event", "OriginateResponse"), ("Privilege", "call,all")]
        if action_id is not None:
            fields.append(("ActionID", action_id))
        fields += [
            ("Response", "Success" if success else "Failure"),
            ("Channel", channel_name),
            ("Context", context),
            ("Exten", exten),
            ("Reason", str(reason)),
            ("Uniqueid", channel.uniqueid if channel is not None else "<null>"),
            ("CallerIDNum", cid_num or UNKNOWN),
            ("CallerIDName", cid_name or UNKNOWN),
        ]
        if channel is not None:
            for var in self.channelvars:
                fields.append((f"ChanVariable({channel.name})", f"{var}={channel.variables.get(var, '')}"))
        return AmiMessage(fields)

    # -- media -----------------------------------------------------------------------
    def dtmf_begin(self, channel: Channel, digit: str, direction: str) -> AmiMessage:
        return self._chan_event("DTMFBegin", "dtmf,all", channel, ("Digit", digit), ("Direction", direction))

    def dtmf_end(self, channel: Channel, digit: str, duration_ms: int, direction: str) -> AmiMessage:
        return self._chan_event(
            "DTMFEnd",
            "dtmf,all",
            channel,
            ("Digit", digit),
            ("DurationMs", str(duration_ms)),
            ("Direction", direction),
        )

    def moh_start(self, channel: Channel, moh_class: str) -> AmiMessage:
        return self._chan_event("MusicOnHoldStart", "call,all", channel, ("Class", moh_class))

    def moh_stop(self, channel: Channel) -> AmiMessage:
        return self._chan_event("MusicOnHoldStop", "call,all", channel)

    # -- AGI ---------------------------------------------------------------------------
    def agi_exec_start(self, channel: Channel, command_id: int, command: str) -> AmiMessage:
        return self._chan_event(
            "AGIExecStart", "agi,all", channel, ("CommandId", str(command_id)), ("Command", command)
        )

    def agi_exec_end(
        self, channel: Channel, command_id: int, command: str, result_code: int, result: str
    ) -> AmiMessage:
        return self._chan_event(
            "AGIExecEnd",
            "agi,all",
            channel,
            ("CommandId", str(command_id)),
            ("Command", command),
            ("ResultCode", str(result_code)),
            ("Result", result),
        )

    # -- bridges -------------------------------------------------------------------------
    def _bridge_fields(self, bridge: Bridge) -> list[tuple[str, str]]:
        return [
            ("BridgeUniqueid", bridge.uniqueid),
            ("BridgeType", "basic"),
            ("BridgeTechnology", "simple_bridge"),
            ("BridgeCreator", UNKNOWN),
            ("BridgeName", UNKNOWN),
            ("BridgeNumChannels", str(len(bridge.members))),
            ("BridgeVideoSourceMode", "none"),
        ]

    def bridge_create(self, bridge: Bridge) -> AmiMessage:
        return AmiMessage(
            [("Event", "BridgeCreate"), ("Privilege", "call,all"), *self._bridge_fields(bridge)]
        )

    def bridge_destroy(self, bridge: Bridge) -> AmiMessage:
        return AmiMessage(
            [("Event", "BridgeDestroy"), ("Privilege", "call,all"), *self._bridge_fields(bridge)]
        )

    def bridge_enter(self, bridge: Bridge, channel: Channel) -> AmiMessage:
        return AmiMessage(
            [
                ("Event", "BridgeEnter"),
                ("Privilege", "call,all"),
                *self._bridge_fields(bridge),
                *self.snapshot(channel),
            ]
        )

    def bridge_leave(self, bridge: Bridge, channel: Channel) -> AmiMessage:
        return AmiMessage(
            [
                ("Event", "BridgeLeave"),
                ("Privilege", "call,all"),
                *self._bridge_fields(bridge),
                *self.snapshot(channel),
            ]
        )

    # -- devices ---------------------------------------------------------------------------
    @staticmethod
    def device_state_change(device: str, state: str) -> AmiMessage:
        return AmiMessage(
            [("Event", "DeviceStateChange"), ("Privilege", "call,all"), ("Device", device), ("State", state)]
        )
