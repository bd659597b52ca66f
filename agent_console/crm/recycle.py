"""The recycle bin: list deleted customers, restore them, purge them for good (admins).

Deleting is ``DELETE /api/crm/customers/{id}`` (:mod:`agent_console.crm.customers`).
"""

from fastapi import APIRouter, Response, status

from agent_console.crm.deps import Crm, CurrentActor, CustomerId, PageNumber, PageSize
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.customers.schemas import CustomerSummary, RecycleEntry
from crm_core.paging import Page

__all__ = ["router"]

router = APIRouter(
    prefix="/api/crm/recycle-bin",
    tags=["recycle bin"],
    route_class=CleanInputRoute,
    responses=ERROR_RESPONSES,
)


@router.get("", response_model=Page[RecycleEntry], summary="Deleted customers you may restore")
async def list_deleted(
    actor: CurrentActor, crm: Crm, page: PageNumber = 1, page_size: PageSize = 50
) -> Page[RecycleEntry]:
    return await crm.recycle.list_deleted(actor, page=page, page_size=page_size)


@router.post(
    "/{customer_id}/restore", response_model=CustomerSummary, summary="Take a customer out of the recycle bin"
)
async def restore(customer_id: CustomerId, actor: CurrentActor, crm: Crm) -> CustomerSummary:
    return await crm.recycle.restore(actor, customer_id)


@router.delete(
    "/{customer_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Purge a deleted customer for good (admins; audited)",
)
async def purge(customer_id: CustomerId, actor: CurrentActor, crm: Crm) -> Response:
    await crm.recycle.purge(actor, customer_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
