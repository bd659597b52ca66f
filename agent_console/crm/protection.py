"""Customer protection: claim from the public pool, release, assign, transfer, lock, unlock.

The rules (caps, the bar on a previous owner, who may hand customers
over) are :class:`crm_core.protection.service.ProtectionService`'s; each change
writes ownership history and an audit row.  A refused rule is a 409.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from agent_console.crm.deps import Crm, CurrentActor, CustomerId, visible_customer
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.protection.service import OwnershipChange, OwnershipView

__all__ = ["HandOverRequest", "LockRequest", "ReleaseRequest", "router"]

router = APIRouter(
    prefix="/api/crm/customers/{customer_id}",
    # A customer that exists but is not the user's to see: 403, not the services' "not found".
    dependencies=[Depends(visible_customer)],
    tags=["protection"],
    route_class=CleanInputRoute,
    responses=ERROR_RESPONSES,
)


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=255, description="Why the customer goes back to the pool")


class HandOverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_login: str = Field(min_length=1, max_length=64, description="The agent who gets the customer")
    reason: str = Field(min_length=1, max_length=255)


class LockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=255)


OptionalLock = Annotated[LockRequest | None, Body()]


@router.get("/ownership", response_model=OwnershipView, summary="Who owns a customer now (audited)")
async def ownership(customer_id: CustomerId, actor: CurrentActor, crm: Crm) -> OwnershipView:
    return await crm.protection.ownership(actor, customer_id)


@router.get(
    "/ownership/history",
    response_model=list[OwnershipChange],
    summary="Every ownership change of a customer (audited)",
)
async def ownership_history(customer_id: CustomerId, actor: CurrentActor, crm: Crm) -> list[OwnershipChange]:
    return await crm.protection.history(actor, customer_id)


@router.post("/claim", response_model=OwnershipView, summary="Claim a customer from the public pool")
async def claim(customer_id: CustomerId, actor: CurrentActor, crm: Crm) -> OwnershipView:
    return await crm.protection.claim(actor, customer_id)


@router.post("/release", response_model=OwnershipView, summary="Release a customer to the public pool")
async def release(
    customer_id: CustomerId, body: ReleaseRequest, actor: CurrentActor, crm: Crm
) -> OwnershipView:
    return await crm.protection.release(actor, customer_id, body.reason)


@router.post(
    "/assign", response_model=OwnershipView, summary="Give a public-pool customer to an agent (supervisors)"
)
async def assign(
    customer_id: CustomerId, body: HandOverRequest, actor: CurrentActor, crm: Crm
) -> OwnershipView:
    return await crm.protection.assign(actor, customer_id, body.to_login, body.reason)


@router.post(
    "/transfer", response_model=OwnershipView, summary="Move an owned customer to another agent (supervisors)"
)
async def transfer(
    customer_id: CustomerId, body: HandOverRequest, actor: CurrentActor, crm: Crm
) -> OwnershipView:
    return await crm.protection.transfer(actor, customer_id, body.to_login, body.reason)


@router.post("/lock", response_model=OwnershipView, summary="Protect a customer from release to the pool")
async def lock(
    customer_id: CustomerId, actor: CurrentActor, crm: Crm, body: OptionalLock = None
) -> OwnershipView:
    return await crm.protection.lock(actor, customer_id, body.reason if body is not None else "")


@router.post("/unlock", response_model=OwnershipView, summary="Remove a customer's protection")
async def unlock(
    customer_id: CustomerId, actor: CurrentActor, crm: Crm, body: OptionalLock = None
) -> OwnershipView:
    return await crm.protection.unlock(actor, customer_id, body.reason if body is not None else "")
