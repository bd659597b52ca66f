"""ContractService on SQLite and PostgreSQL: terms, the state machine, signing, deletion, audit."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from contract_testkit import Clock, World, audit_rows, build_world, drive, grant, terms
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.contracts.schemas import CONTRACT_ACTIONS, CONTRACT_STATUSES, ContractUpdate
from crm_core.contracts.service import ContractService
from crm_core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from crm_core.models import Customer
from crm_core.parameters.store import ParameterStore


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> World:
    clock = Clock()
    return await build_world(
        sessions, clock, ContractService(sessions, ParameterStore(sessions), clock=clock)
    )


LEGAL = {
    ("draft", "submit"): "pending",
    ("pending", "approve"): "approved",
    ("pending", "reject"): "rejected",
    ("rejected", "rework"): "draft",
    ("approved", "sign"): "active",
    ("active", "terminate"): "terminated",
}


async def test_create_numbers_sums_lines_and_audits(world: World) -> None:
    data = terms(
        lines=[
            {"product": "fee A", "quantity": 1, "unit_price": "0.10"},
            {"product": "fee B", "quantity": 1, "unit_price": "0.20"},
            {"product": "units", "quantity": 3, "unit_price": "33.33", "amount": "99.99"},
        ],
        installments=[
            {"due_on": "2026-04-01", "amount": "50.14"},
            {"due_on": "2026-05-01", "amount": "50.15"},
        ],
    )
    view = await world.contracts.create(world.alice, world.ids["wang"], data)
    assert re.fullmatch(r"C-2026-\d{6}", view.number) and view.number.endswith(f"{view.id:06d}")
    assert (view.status, view.owner_login, view.customer_name) == ("draft", "alice", "Wang Wei")
    assert view.amount == Decimal("100.29") and str(view.amount) == "100.29"
    assert [line.amount for line in view.lines] == [Decimal("0.10"), Decimal("0.20"), Decimal("99.99")]
    assert (view.received, view.outstanding) == (Decimal("0.00"), Decimal("100.29"))
    assert [i.status for i in view.installments] == ["due", "due"]
    second = await world.contracts.create(world.alice, world.ids["wang"], terms())
    assert second.number != view.number
    [row] = await audit_rows(world, "contract", view.id)
    assert (row.action, row.actor_login, row.remote_addr) == ("create", "alice", "10.0.0.7")
    assert row.detail == {"number": view.number, "customer_id": world.ids["wang"], "amount": "100.29"}


async def test_create_checks_terms_and_rights(world: World) -> None:
    bad = [
        (terms(amount="1.00"), "amount"),  # lines say 120000.00
        (
            terms(lines=[], amount="100.00", installments=[{"due_on": "2026-04-01", "amount": "99.99"}]),
            "installments",
        ),
        (terms(owner_login="nobody"), "owner_login"),
    ]
    for data, field in bad:
        with pytest.raises(InvalidInput) as caught:
            await world.contracts.create(world.alice, world.ids["wang"], data)
        assert caught.value.field == field
    with pytest.raises(NotFound):  # bob has no rights on Wang: not even its existence
        await world.contracts.create(world.bob, world.ids["wang"], terms())
    with pytest.raises(NotFound):
        await world.contracts.create(world.alice, 999_999, terms())
    with pytest.raises(NotFound):  # an agent sees the pool, but opens no contract there
        await world.contracts.create(world.alice, world.ids["pool"], terms())
    with pytest.raises(AccessDenied):  # alice may not put a contract in carol's name
        await world.contracts.create(world.alice, world.ids["wang"], terms(owner_login="carol"))
    by_admin = await world.contracts.create(world.root, world.ids["wang"], terms(owner_login="alice"))
    assert by_admin.owner_login == "alice"
    by_sup = await world.contracts.create(world.sup_a, world.ids["wang"], terms(owner_login="bob"))
    assert by_sup.owner_login == "bob"


async def test_renewal_must_continue_an_active_or_expired_contract_of_the_customer(world: World) -> None:
    draft = await world.contracts.create(world.alice, world.ids["wang"], terms())
    others = await world.contracts.create(world.carol, world.ids["li"], terms())
    await drive(world, others.id, "active", owner="carol", supervisor="sup_b")
    for previous in (draft.id, others.id, 999_999):
        with pytest.raises(InvalidInput) as caught:
            await world.contracts.create(world.alice, world.ids["wang"], terms(renewed_from_id=previous))
        assert caught.value.field == "renewed_from_id"
    await drive(world, draft.id, "active")
    renewal = await world.contracts.create(world.alice, world.ids["wang"], terms(renewed_from_id=draft.id))
    assert (renewal.is_renewal, renewal.renewed_from_id) == (True, draft.id)
    assert (await world.contracts.get(world.alice, draft.id)).status == "active"


@pytest.mark.parametrize("action", CONTRACT_ACTIONS)
async def test_every_transition_legal_or_conflict(world: World, action: str) -> None:
    """From each status, ``action`` either gives the specified status or a Conflict naming both."""
    for status in CONTRACT_STATUSES:
        contract = await world.contracts.create(world.alice, world.ids["wang"], terms())
        await drive(world, contract.id, status)
        # Each legal action by someone entitled to it: the owner's side, or the owner's supervisor.
        actor = world.sup_a if action in {"approve", "reject", "terminate"} else world.alice
        reason = "customer asked" if action in {"reject", "terminate"} else None
        if (status, action) in LEGAL:
            view = await world.contracts.transition(actor, contract.id, action, reason)
            assert view.status == LEGAL[status, action], (status, action)
            last = (await audit_rows(world, "contract", contract.id))[-1]
            assert last.action == "transition"
            assert last.detail is not None and (last.detail["from"], last.detail["to"]) == (
                status,
                view.status,
            )
        else:
            for who in (actor, world.root):
                with pytest.raises(Conflict) as caught:
                    await world.contracts.transition(who, contract.id, action, reason)
                assert f"{status} →" in str(caught.value), (status, action)
            assert (await world.contracts.get(world.alice, contract.id)).status == status


async def test_who_may_approve_reject_and_terminate(world: World) -> None:
    contract = await world.contracts.create(world.alice, world.ids["wang"], terms())
    await world.contracts.transition(world.alice, contract.id, "submit")
    with pytest.raises(AccessDenied):  # the owner never approves their own contract
        await world.contracts.transition(world.alice, contract.id, "approve")
    await grant(world, "wang", "bob", "write")
    with pytest.raises(AccessDenied):  # write access on the customer is not a supervisor's say
        await world.contracts.transition(world.bob, contract.id, "approve")
    with pytest.raises(NotFound):  # another team's supervisor does not even see it
        await world.contracts.transition(world.sup_b, contract.id, "approve")
    approved = await world.contracts.transition(world.sup_a, contract.id, "approve")
    assert (approved.status, approved.approved_by) == (
        "approved",
        "sup_a",
    ) and approved.approved_at is not None
    # A supervisor's own contract needs someone else: the admin.
    own = await world.contracts.create(world.sup_a, world.ids["sup_own"], terms())
    await world.contracts.transition(world.sup_a, own.id, "submit")
    with pytest.raises(AccessDenied):
        await world.contracts.transition(world.sup_a, own.id, "reject", "no")
    rejected = await world.contracts.transition(world.root, own.id, "reject", "rate too high")
    assert rejected.status == "rejected"
    assert (await audit_rows(world, "contract", own.id))[-1].detail == {
        "action": "reject", "from": "pending", "to": "rejected", "reason": "rate too high"
    }  # fmt: skip
    await world.contracts.transition(world.alice, contract.id, "sign")
    with pytest.raises(InvalidInput) as caught:
        await world.contracts.transition(world.sup_a, contract.id, "terminate", "  ")
    assert caught.value.field == "reason"
    with pytest.raises(AccessDenied):
        await world.contracts.transition(world.alice, contract.id, "terminate", "I want out")
    terminated = await world.contracts.transition(world.root, contract.id, "terminate", "fraud")
    assert terminated.status == "terminated"
    with pytest.raises(InvalidInput) as caught:
        await world.contracts.transition(world.root, contract.id, "expire")
    assert caught.value.field == "action"


async def test_sign_sets_signed_on_and_the_customers_deal(world: World) -> None:
    contract = await world.contracts.create(world.alice, world.ids["wang"], terms())
    await drive(world, contract.id, "approved")
    world.clock.advance(days=2)
    signed = await world.contracts.transition(world.alice, contract.id, "sign")
    assert (signed.status, signed.signed_on) == ("active", world.clock.today)
    async with world.sessions() as session:
        customer = await session.get(Customer, world.ids["wang"])
        assert customer is not None
        assert (customer.deal_status, customer.last_deal_at) == ("won", world.clock.now)
    late = await world.contracts.create(world.alice, world.ids["wang"], terms(end_on="2026-03-31"))
    await drive(world, late.id, "approved")
    world.clock.advance(days=30)
    with pytest.raises(Conflict):  # ended before it was signed
        await world.contracts.transition(world.alice, late.id, "sign")


async def test_update_only_draft_or_rejected_and_rechecks_the_terms(world: World) -> None:
    contract = await world.contracts.create(
        world.alice,
        world.ids["wang"],
        terms(
            installments=[
                {"due_on": "2026-06-01", "amount": "60000.00"},
                {"due_on": "2026-09-01", "amount": "60000.00"},
            ]
        ),
    )
    with pytest.raises(InvalidInput) as caught:  # the plan still says 120000.00
        await world.contracts.update(
            world.alice,
            contract.id,
            ContractUpdate.model_validate({"lines": [{"product": "x", "quantity": 2, "unit_price": "0.05"}]}),
        )
    assert caught.value.field == "installments"
    with pytest.raises(InvalidInput) as caught:
        await world.contracts.update(world.alice, contract.id, ContractUpdate(end_on=date(2025, 12, 31)))
    assert caught.value.field == "end_on"
    changed = await world.contracts.update(
        world.alice,
        contract.id,
        ContractUpdate.model_validate(
            {
                "title": "Small fees",
                "lines": [
                    {"product": "fee", "quantity": 2, "unit_price": "0.05"},
                    {"product": "fee", "quantity": 1, "unit_price": "0.20"},
                ],
                "installments": [
                    {"due_on": "2026-04-01", "amount": "0.10"},
                    {"due_on": "2026-05-01", "amount": "0.20"},
                ],
            }
        ),
    )
    assert (changed.title, changed.amount, len(changed.lines)) == ("Small fees", Decimal("0.30"), 2)
    assert [i.amount for i in changed.installments] == [Decimal("0.10"), Decimal("0.20")]
    with pytest.raises(InvalidInput) as caught:  # the lines say 0.30
        await world.contracts.update(world.alice, contract.id, ContractUpdate(amount=Decimal("0.40")))
    assert caught.value.field == "amount"
    await grant(world, "wang", "bob", "write")
    with pytest.raises(AccessDenied):  # bob may write to Wang, but the contract is alice's
        await world.contracts.update(world.bob, contract.id, ContractUpdate(title="mine"))
    await drive(world, contract.id, "rejected")
    reworked = await world.contracts.update(world.alice, contract.id, ContractUpdate(title="Again"))
    assert (reworked.title, reworked.status) == ("Again", "rejected")
    await world.contracts.transition(world.alice, contract.id, "rework")
    await world.contracts.transition(world.alice, contract.id, "submit")
    with pytest.raises(Conflict):
        await world.contracts.update(world.alice, contract.id, ContractUpdate(title="Too late"))
    assert [r.action for r in await audit_rows(world, "contract", contract.id)].count("update") == 2


async def test_delete_only_drafts(world: World) -> None:
    draft = await world.contracts.create(world.alice, world.ids["wang"], terms())
    pending = await world.contracts.create(world.alice, world.ids["wang"], terms())
    await drive(world, pending.id, "pending")
    with pytest.raises(Conflict):
        await world.contracts.delete(world.alice, pending.id)
    await world.contracts.delete(world.alice, draft.id)
    for call in (world.contracts.get(world.alice, draft.id), world.contracts.delete(world.alice, draft.id)):
        with pytest.raises(NotFound):
            await call
    page = await world.contracts.list(world.alice)
    assert [c.id for c in page.items] == [pending.id]
    assert [r.action for r in await audit_rows(world, "contract", draft.id)] == ["create", "delete"]
    async with world.sessions() as session:
        assert (
            await session.scalar(select(Customer.deal_status).where(Customer.id == world.ids["wang"]))
        ) == "none"
