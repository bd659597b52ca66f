"""Contracts: list, view, open, change, delete drafts, move through approval, record payments.

The state machine (draft → pending → approved/rejected → active →
expired/terminated) and the four-eyes rule are
:class:`crm_core.contracts.service.ContractService`'s: an illegal move is a 409, an
action the user may not take a 403.  Amounts travel as strings.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from agent_console.crm.deps import (
    MAX_ID,
    ContractId,
    Crm,
    CurrentActor,
    CustomerId,
    PageNumber,
    PageSize,
    visible_customer,
)
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.contracts.jobs import MAX_WITHIN_DAYS
from crm_core.contracts.schemas import (
    ContractAction,
    ContractCreate,
    ContractPage,
    ContractStatus,
    ContractUpdate,
    ContractView,
    PaymentIn,
)

__all__ = ["ContractCreateRequest", "TransitionRequest", "router"]

router = APIRouter(
    prefix="/api/crm", tags=["contracts"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)


class ContractCreateRequest(ContractCreate):
    """A new contract (see :class:`~crm_core.contracts.schemas.ContractCreate`)."""

    # Bounded like every id here: a larger one cannot name a row and would overflow the column.
    renewed_from_id: int | None = Field(default=None, ge=1, le=MAX_ID)


class TransitionRequest(BaseModel):
    """An approval-workflow action; ``reason`` is required to terminate."""

    model_config = ConfigDict(extra="forbid")

    action: ContractAction
    reason: str | None = Field(default=None, max_length=255)


@router.get("/contracts", response_model=ContractPage, summary="List the contracts you may see")
async def list_contracts(
    actor: CurrentActor,
    crm: Crm,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status_: Annotated[ContractStatus | None, Query(alias="status")] = None,
    owner: Annotated[str | None, Query(max_length=64, description="The owner's login")] = None,
    expiring_within_days: Annotated[
        int | None,
        Query(ge=0, le=MAX_WITHIN_DAYS, description="Only active contracts ending within this many days"),
    ] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> ContractPage:
    return await crm.contracts.list(
        actor,
        customer_id=customer_id,
        status=status_,
        owner_login=owner,
        expiring_within_days=expiring_within_days,
        page=page,
        page_size=page_size,
    )


@router.post(
    "/customers/{customer_id}/contracts",
    response_model=ContractView,
    dependencies=[Depends(visible_customer)],
    status_code=status.HTTP_201_CREATED,
    summary="Open a draft contract for a customer",
)
async def create_contract(
    customer_id: CustomerId, body: ContractCreateRequest, actor: CurrentActor, crm: Crm
) -> ContractView:
    return await crm.contracts.create(actor, customer_id, body)


@router.get("/contracts/{contract_id}", response_model=ContractView, summary="View one contract (audited)")
async def get_contract(contract_id: ContractId, actor: CurrentActor, crm: Crm) -> ContractView:
    return await crm.contracts.get(actor, contract_id)


@router.patch(
    "/contracts/{contract_id}", response_model=ContractView, summary="Change a draft or rejected contract"
)
async def update_contract(
    contract_id: ContractId, body: ContractUpdate, actor: CurrentActor, crm: Crm
) -> ContractView:
    return await crm.contracts.update(actor, contract_id, body)


@router.delete(
    "/contracts/{contract_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a draft contract",
)
async def delete_contract(contract_id: ContractId, actor: CurrentActor, crm: Crm) -> Response:
    await crm.contracts.delete(actor, contract_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/contracts/{contract_id}/transition",
    response_model=ContractView,
    summary="Submit, approve, reject, rework, sign or terminate a contract",
)
async def transition(
    contract_id: ContractId, body: TransitionRequest, actor: CurrentActor, crm: Crm
) -> ContractView:
    return await crm.contracts.transition(actor, contract_id, body.action, body.reason)


@router.post(
    "/contracts/{contract_id}/payments",
    response_model=ContractView,
    status_code=status.HTTP_201_CREATED,
    summary="Record a payment received (positive) or refunded (negative)",
)
async def add_payment(
    contract_id: ContractId, body: PaymentIn, actor: CurrentActor, crm: Crm
) -> ContractView:
    return await crm.contracts.record_payment(
        actor,
        contract_id,
        amount=body.amount,
        received_on=body.received_on,
        method=body.method,
        reference=body.reference,
    )
