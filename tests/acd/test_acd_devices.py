"""Agents' devices in use (a call the ACD did not route): never offered a call, their own state kept."""

from __future__ import annotations

from acd_testkit import make_acd, offered_to

from acd import AgentState, QueuedCall
from acd.config import QueueConfig, Strategy


async def test_a_busy_device_is_skipped_and_gets_the_waiting_call_once_free() -> None:
    acd, sink = make_acd()
    acd.register_agent("ann", "Ann", "PJSIP/1001", ["general"])
    acd.register_agent("bob", "Bob", "PJSIP/1002", ["general"])
    await acd.set_agent_state("ann", "available")  # ann has waited longest: she would be first
    await acd.set_agent_state("bob", "available")
    assert await acd.device_in_use("PJSIP/1001", True) == ["ann"]
    first = await acd.enqueue(QueuedCall("c1", "general"))
    assert (await offered_to(first.offer)).agent_login == "bob"
    second = await acd.enqueue(QueuedCall("c2", "general"))
    assert not second.offer.done()  # bob rings, ann's device is busy: the caller waits
    assert acd.status("ann").state is AgentState.AVAILABLE  # her own state is untouched
    assert await acd.device_in_use("PJSIP/1001", False) == ["ann"]
    assert (await offered_to(second.offer)).agent_login == "ann"
    assert sink.states("ann") == [("available", None), ("ringing", None)]  # no pause, no invented call


async def test_a_paused_agent_stays_paused_through_a_direct_call() -> None:
    acd, sink = make_acd()
    acd.register_agent("ann", "Ann", "PJSIP/1001", ["general"])
    acd.register_agent("standby", "Standby", "PJSIP/9", ["general"])
    await acd.set_agent_state("standby", "paused", "break")
    await acd.set_agent_state("ann", "paused", "lunch")
    await acd.device_in_use("PJSIP/1001", True)
    await acd.device_in_use("PJSIP/1001", False)
    ticket = await acd.enqueue(QueuedCall("c1", "general"))
    assert not ticket.offer.done()
    record = acd.status("ann")
    assert (record.state, record.reason, record.device_busy) == (AgentState.PAUSED, "lunch", False)
    # Back from lunch while on a direct call: available, but not offered until the phone is free.
    await acd.device_in_use("PJSIP/1001", True)
    await acd.set_agent_state("ann", "available")
    assert not ticket.offer.done()
    await acd.device_in_use("PJSIP/1001", False)
    assert (await offered_to(ticket.offer)).agent_login == "ann"
    assert sink.states("ann") == [("paused", "lunch"), ("available", None), ("ringing", None)]


async def test_ring_all_and_the_relationship_manager_leave_a_busy_device_out() -> None:
    acd, _ = make_acd(queues=())
    acd.add_queue(QueueConfig("vip", strategy=Strategy.RING_ALL, rm_grace_seconds=60))
    for login in ("ann", "bob", "cid"):
        acd.register_agent(login, login.title(), f"PJSIP/{login}", ["vip"])
        await acd.set_agent_state(login, "available")
    await acd.device_in_use("PJSIP/bob", True)
    group = await acd.enqueue(QueuedCall("c1", "vip"))
    assert [login for login, _ in (await offered_to(group.offer)).group] == ["ann", "cid"]
    await acd.call_connected("c1", "ann")
    # cid is free again; bob's customer waits for bob, their relationship manager, while his phone is busy.
    owned = await acd.enqueue(QueuedCall("c2", "vip", owner_login="bob"))
    assert not owned.offer.done()
    await acd.device_in_use("PJSIP/bob", False)
    assert (await offered_to(owned.offer)).agent_login == "bob"


async def test_the_ring_of_an_acd_call_holds_the_next_offer_until_the_phone_hangs_up() -> None:
    acd, _ = make_acd()
    acd.register_agent("ann", "Ann", "PJSIP/1001", ["general"])
    await acd.set_agent_state("ann", "available")
    first = await acd.enqueue(QueuedCall("c1", "general"))
    await offered_to(first.offer)
    await acd.device_in_use("PJSIP/1001", True)  # her phone rings for c1
    await acd.call_connected("c1", "ann")
    second = await acd.enqueue(QueuedCall("c2", "general"))
    await acd.call_ended("c1")  # no wrap-up: available at once…
    assert acd.status("ann").state is AgentState.AVAILABLE
    assert not second.offer.done()  # …but the PBX still shows the phone in use
    await acd.device_in_use("PJSIP/1001", False)
    assert (await offered_to(second.offer)).agent_login == "ann"


async def test_reconcile_devices_sets_every_flag_from_the_channel_list() -> None:
    acd, _ = make_acd()
    acd.register_agent("ann", "Ann", "PJSIP/1001", ["general"])
    acd.register_agent("bob", "Bob", "Local/1002@agents", ["general"])
    await acd.set_agent_state("ann", "available")
    await acd.set_agent_state("bob", "available")
    await acd.device_in_use("PJSIP/1001", True)
    # The link was down: ann's call ended and bob's began without an event reaching us.
    assert sorted(await acd.reconcile_devices({"Local/1002@agents", "PJSIP/trunk"})) == ["ann", "bob"]
    assert (acd.status("ann").device_busy, acd.status("bob").device_busy) == (False, True)
    ticket = await acd.enqueue(QueuedCall("c1", "general"))
    assert (await offered_to(ticket.offer)).agent_login == "ann"
    assert await acd.device_in_use("PJSIP/unknown", True) == []  # nobody's device: nothing changes
