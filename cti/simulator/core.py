"""The simulated PBX core: channels, their state changes, hangups, DTMF, bridges.

:class:`Pbx` is the one place that mutates channels and emits the matching
AMI events, so every application (Dial, Queue, AGI...) produces the same
event sequences as Asterisk's channel core:

* answering a Local ``;2`` answers its ``;1``; a ``Ringing`` indication on
  ``;2`` makes ``;1`` ``Ringing``;
* destroying one half of a Local pair queues a hangup (``HangupRequest``)
  on the other half, *before* the ``Hangup`` event of the first;
* a dialplan that ends on a channel nobody soft-hung-up first emits
  ``SoftHangupRequest`` (cause 16), then the channel is destroyed.

Event order matters to consumers, so the helpers are synchronous and the
few deliberate yields (:meth:`Pbx.end_pbx`) mirror the interleavings seen in
the real traces.
"""

from __future__ import annotations

import asyncio
import time

from cti.simulator.channels import Bridge, Channel, ChannelRegistry, ChannelState
from cti.simulator.hooks import CallObserver, DialplanRunner
from cti.simulator.queue import QueueRegistry, channels_device_state, device_state_name
from cti.simulator.runtime import LAB_GLOBALS, PbxRuntime

__all__ = ["CallObserver", "DialplanRunner", "Pbx"]

#: Real seconds between a Local channel's change and its ``DeviceStateChange``: Asterisk computes
#: device states on a task processor of their own, so the events of the change come first.
DEVICE_STATE_LAG = 0.001
#: The ``Cause`` of every ``SoftHangupRequest`` Asterisk 22 published in the traces (83 of 83).
SOFT_HANGUP_REASON = 16


class Pbx(PbxRuntime):
    """Channel core shared by the dialplan, the applications and the AMI server.

    The process state it works on (tables, time, tasks, event fan-out,
    lookups) is :class:`~cti.simulator.runtime.PbxRuntime`.
    """

    # -- restart ------------------------------------------------------------------------
    async def restart(self) -> None:
        """``core restart now``: the process ends and starts afresh from its configuration.

        Every call dies with the old process (dialplan and FastAGI sessions
        stop, their sockets close) without events — nobody is connected to see
        them; AMI-set globals and dynamic queue members are gone, uptime and
        the call counters start from zero.  Phones and hints (configuration)
        and AstDB (a file on disk) survive.
        """
        for _ in range(10):  # a cancelled task may have spawned another while ending
            if not self._tasks:
                break
            await self.cancel_tasks()
        for channel in list(self.registry):
            channel.mark_gone()
        self.registry = ChannelRegistry(epoch_floor=int(time.time()) + 1)
        self.globals = dict(LAB_GLOBALS)
        self.queues = QueueRegistry()
        self.calls.clear()
        self._device_states.clear()
        self.hints.refresh(self)
        self.started_at = time.time()

    # -- channel creation ---------------------------------------------------------------
    def new_channel(
        self,
        tech: str,
        resource: str,
        *,
        context: str,
        exten: str,
        state: ChannelState,
        linkedid: str | None = None,
        uniqueid: str | None = None,
    ) -> Channel:
        """Allocate a single channel (``PJSIP/<resource>-<seq>``); no event yet."""
        name = f"{tech}/{resource}-{self.registry.next_sequence(tech)}"
        uid = uniqueid or self.registry.next_uniqueid()
        channel = Channel(
            name, uid, linkedid or uid, tech, context, exten, state=state, device=f"{tech}/{resource}"
        )
        self.registry.add(channel)
        return channel

    def new_local_pair(
        self,
        exten: str,
        context: str,
        *,
        linkedid: str | None = None,
        uniqueids: tuple[str | None, str | None] = (None, None),
    ) -> tuple[Channel, Channel]:
        """Create ``Local/<exten>@<context>-<seq>;1`` and ``;2`` and announce them."""
        base = f"Local/{exten}@{context}-{self.registry.next_sequence('Local')}"
        uid1 = uniqueids[0] or self.registry.next_uniqueid()
        uid2 = uniqueids[1] or self.registry.next_uniqueid()
        device = f"Local/{exten}@{context}"
        one = Channel(
            base + ";1", uid1, linkedid or uid1, "Local", context, exten, device=device, local_half=1
        )
        two = Channel(
            base + ";2",
            uid2,
            one.linkedid,
            "Local",
            context,
            exten,
            state=ChannelState.RING,
            device=device,
            local_half=2,
        )
        one.peer, two.peer = two, one
        self.registry.add(one)
        self.registry.add(two)
        self.emit_for(one, self.events.newchannel(one))
        self.emit_for(two, self.events.newchannel(two))
        self.update_device(one, created=True)
        return one, two

    def announce(self, channel: Channel) -> None:
        """Publish ``Newchannel`` for a channel made by :meth:`new_channel`."""
        self.emit_for(channel, self.events.newchannel(channel))
        self.update_device(channel, created=True)

    def update_device(self, channel: Channel, *, created: bool = False) -> None:
        """``DeviceStateChange`` for *channel*'s device after its channel changed.

        A Local device (``Local/1001@agents``) reports as Asterisk's
        ``local_devicestate`` does (traces b, i1–i3, n): not when its channels
        are created, but after *every* state change (``Newstate``) and every
        hangup of one of them — repeats included (Local channels bypass the
        device-state cache) — with the state computed a moment later, on the
        device-state thread (:data:`DEVICE_STATE_LAG`): ``INUSE`` while a
        ``;1`` of the device lives, else ``NOT_INUSE``.  So the hangup of both
        halves is followed by two ``NOT_INUSE``, and a Local device never
        reports ``RINGING``.  Other devices (``PJSIP/1001``) report each
        *change* of their state once.
        """
        device = channel.device
        if not device:
            return
        self.hints.device_changed(self, device)
        if channel.tech == "Local":
            if not created:
                asyncio.get_running_loop().call_later(DEVICE_STATE_LAG, self._report_local_device, device)
            return
        state = device_state_name(channels_device_state(self.registry.on_device(device)))
        if self._device_states.get(device, "NOT_INUSE") != state:
            self._device_states[device] = state
            self.emit(self.events.device_state_change(device, state))

    def _report_local_device(self, device: str) -> None:
        owners = [chan for chan in self.registry.on_device(device) if chan.local_half == 1 and not chan.gone]
        self.emit(self.events.device_state_change(device, "INUSE" if owners else "NOT_INUSE"))

    # -- channel state ------------------------------------------------------------------
    def set_callerid(self, channel: Channel, num: str | None, name: str | None, pres: int = 0) -> None:
        channel.caller_num, channel.caller_name, channel.caller_pres = num, name, pres
        self.emit_for(channel, self.events.newcallerid(channel))

    def set_connected(self, channel: Channel, num: str | None, name: str | None) -> None:
        channel.connected_num, channel.connected_name = num, name
        self.emit_for(channel, self.events.newconnectedline(channel))

    def set_var(self, channel: Channel | None, name: str, value: str) -> None:
        """Set a channel (or, with ``None``, a global) variable and emit ``VarSet``."""
        if channel is None:
            self.globals[name] = value
            self.emit(self.events.varset(None, name, value))
            return
        channel.set_var(name, value)
        self.emit_for(channel, self.events.varset(channel, name, value))

    def newexten(self, channel: Channel, priority: int, application: str, data: str) -> None:
        channel.priority, channel.app, channel.app_data = priority, application, data
        self.emit_for(channel, self.events.newexten(channel, application, data))

    def _set_state(self, channel: Channel, state: ChannelState) -> None:
        channel.state = state
        self.emit_for(channel, self.events.newstate(channel))
        self.update_device(channel)

    def indicate_ringing(self, channel: Channel) -> None:
        """The callee side rings: the dialing side of the leg becomes Ringing."""
        target = channel.peer if channel.local_half == 2 and channel.peer is not None else channel
        if target.dead or target.state in (ChannelState.RINGING, ChannelState.UP):
            return
        self._set_state(target, ChannelState.RINGING)
        if target.on_ringing is not None:
            target.on_ringing(target)

    def answer(self, channel: Channel) -> None:
        """Answer *channel*; a Local ``;2`` also answers its ``;1``."""
        if channel.is_up or channel.dead:
            return
        channel.answered_at = time.monotonic()
        self._set_state(channel, ChannelState.UP)
        channel.mark_answered()
        if channel.on_answer is not None:
            channel.on_answer(channel)
        peer = channel.peer
        if channel.local_half == 2 and peer is not None and not peer.dead and not peer.is_up:
            if peer.answer_hook is not None:
                peer.answer_hook(peer)
            else:
                self.answer(peer)

    # -- hangup ---------------------------------------------------------------------------
    def soft_hangup(self, channel: Channel, cause: int | None = None) -> None:
        """``ast_softhangup``: AMI Hangup, the Hangup app, AGI HANGUP.

        A channel that runs no dialplan (the called side of a ``Dial``, bridged
        by the caller's thread) publishes no ``SoftHangupRequest``: it only
        leaves its bridge and is hung up (trace i1, AMI Hangup of the agent).
        """
        if channel.gone:
            return
        if cause:
            channel.hangup_cause = cause
        channel.soft_hangup = True
        if channel.pbx_task is not None or channel.bridge is None:
            # Its Cause is the soft-hangup reason, 16 for all of these — never the Q.850 cause
            # the channel will hang up with (trace m2: Hangup Cause=17 → SoftHangupRequest Cause: 16).
            self.emit_for(channel, self.events.soft_hangup_request(channel, SOFT_HANGUP_REASON))
        self._hangup_requested(channel)

    def queue_hangup(self, channel: Channel, cause: int) -> None:
        """``ast_queue_hangup``: the far end of *channel* hung up."""
        if channel.dead:
            return
        channel.hangup_cause = cause
        self.emit_for(channel, self.events.hangup_request(channel, cause))
        self._hangup_requested(channel)

    def _hangup_requested(self, channel: Channel) -> None:
        first = not channel.hangup_requested
        channel.mark_hangup_requested()
        if channel.reader is not None:
            channel.reader.wake()
        if first:
            for listener in list(channel.hangup_listeners):
                listener(channel)

    def destroy(self, channel: Channel, cause: int | None = None) -> None:
        """``ast_hangup``: the channel is gone (``Hangup`` event)."""
        if channel.gone:
            return
        if cause is not None:
            channel.hangup_cause = cause
        if channel.moh_class is not None:
            self.stop_moh(channel)
        final = channel.hangup_cause if channel.hangup_cause is not None else 16
        if not channel.hangup_requested:
            self._hangup_requested(channel)
        channel.mark_gone()
        peer = channel.peer
        if peer is not None and not peer.dead:
            self.queue_hangup(peer, final)
        self.emit_for(channel, self.events.hangup(channel, final))
        self.registry.remove(channel)
        self.update_device(channel)
        hooks, channel.after_hangup = channel.after_hangup, []
        for hook in hooks:
            hook()
        observer = self.calls.get(channel.linkedid)
        if observer is not None:
            observer.on_channel_gone(channel)

    async def end_pbx(self, channel: Channel) -> None:
        """The dialplan of *channel* ended: soft hangup if nobody did, destroy."""
        if channel.gone:
            return
        if not channel.soft_hangup:
            channel.soft_hangup = True
            self.emit_for(channel, self.events.soft_hangup_request(channel, 16))
            self._hangup_requested(channel)
            # Asterisk's hangup runs on the channel thread after the request
            # event; other threads' events interleave here (traces b2, c).
            await asyncio.sleep(0)
        self.destroy(channel)

    # -- DTMF and music ---------------------------------------------------------------------
    def receive_dtmf(self, channel: Channel, digit: str, duration_ms: int, *, begin: bool = True) -> bool:
        """*channel* receives a digit; True if a digit-reading command took it."""
        if channel.gone:
            return False
        if begin:
            self.emit_for(channel, self.events.dtmf_begin(channel, digit, "Received"))
        self.emit_for(channel, self.events.dtmf_end(channel, digit, duration_ms, "Received"))
        reader = channel.reader
        return reader is not None and not channel.dead and reader.offer(digit)

    def send_dtmf(self, channel: Channel, digit: str, duration_ms: int) -> None:
        """*channel* sends a digit to its far end (AMI PlayDTMF without Receive)."""
        if channel.local_half and channel.peer is not None and not channel.peer.gone:
            self.receive_dtmf(channel.peer, digit, duration_ms)
            return
        self.emit_for(channel, self.events.dtmf_begin(channel, digit, "Sent"))
        self.emit_for(channel, self.events.dtmf_end(channel, digit, duration_ms, "Sent"))

    def start_moh(self, channel: Channel, moh_class: str = "default") -> None:
        if channel.moh_class is not None or channel.gone:
            return
        channel.moh_class = moh_class or "default"
        self.emit_for(channel, self.events.moh_start(channel, channel.moh_class))

    def stop_moh(self, channel: Channel) -> None:
        if channel.moh_class is None:
            return
        channel.moh_class = None
        self.emit_for(channel, self.events.moh_stop(channel))

    # -- bridges ------------------------------------------------------------------------------
    def bridge_create(self, linkedid: str) -> Bridge:
        bridge = Bridge(linkedid)
        self.emit(self.events.bridge_create(bridge), linkedid)
        return bridge

    def bridge_enter(self, bridge: Bridge, channel: Channel) -> None:
        bridge.members.append(channel)
        channel.bridge = bridge
        self.emit(self.events.bridge_enter(bridge, channel), bridge.linkedid)

    def bridge_leave(self, bridge: Bridge, channel: Channel) -> None:
        if channel not in bridge.members:
            return
        bridge.members.remove(channel)
        channel.bridge = None
        self.emit(self.events.bridge_leave(bridge, channel), bridge.linkedid)

    def bridge_destroy(self, bridge: Bridge) -> None:
        if bridge.destroyed:
            return
        bridge.destroyed = True
        self.emit(self.events.bridge_destroy(bridge), bridge.linkedid)
