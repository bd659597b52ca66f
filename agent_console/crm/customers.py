"""``/api/crm/customers``: list, view, create, change, delete customers; their phones and contacts.

Access is the services' (:mod:`crm_core.access.rules`): a list holds only the
customers the user may read, a list, a search and a view each write one
``view`` audit row (a list's names every customer on the page), writes need
read-write rights.  Deleting moves the customer to the recycle bin
(:mod:`agent_console.crm.recycle` restores or purges it).
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from agent_console.crm.deps import ContactId, Crm, CurrentActor, CustomerId, PageNumber, PageSize, PhoneId
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.customers.schemas import (
    ContactInput,
    ContactView,
    CustomerCreate,
    CustomerDetail,
    CustomerSummary,
    CustomerUpdate,
    PhoneInput,
    PhoneView,
    RecycleEntry,
)
from crm_core.paging import Page

__all__ = ["router"]

router = APIRouter(
    prefix="/api/crm/customers", tags=["customers"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)

Status = Literal["owned", "public", "locked"]
DealStatus = Literal["none", "prospect", "negotiating", "won", "lost"]


@router.get(
    "", response_model=Page[CustomerSummary], summary="List or search the customers you may see (audited)"
)
async def list_customers(
    actor: CurrentActor,
    crm: Crm,
    q: Annotated[
        str | None,
        Query(
            max_length=200, description="A phone number, an account's last four digits, or part of the name"
        ),
    ] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    tier: Annotated[str | None, Query(max_length=32)] = None,
    owner: Annotated[str | None, Query(max_length=64, description="The owner's login")] = None,
    deal_status: DealStatus | None = None,
    mine: Annotated[bool, Query(description="Only the customers you own")] = False,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> Page[CustomerSummary]:
    return await crm.customers.list(
        actor,
        q=q,
        status=status_,
        tier=tier,
        owner_login=owner,
        deal_status=deal_status,
        mine=mine,
        page=page,
        page_size=page_size,
    )


@router.post("", response_model=CustomerDetail, status_code=status.HTTP_201_CREATED, summary="Add a customer")
async def create_customer(body: CustomerCreate, actor: CurrentActor, crm: Crm) -> CustomerDetail:
    return await crm.customers.create(actor, body)


@router.get("/{customer_id}", response_model=CustomerDetail, summary="View one customer (audited)")
async def get_customer(customer_id: CustomerId, actor: CurrentActor, crm: Crm) -> CustomerDetail:
    return await crm.customers.get(actor, customer_id)


@router.patch("/{customer_id}", response_model=CustomerDetail, summary="Change a customer's fields")
async def update_customer(
    customer_id: CustomerId, body: CustomerUpdate, actor: CurrentActor, crm: Crm
) -> CustomerDetail:
    return await crm.customers.update(actor, customer_id, body)


@router.delete("/{customer_id}", response_model=RecycleEntry, summary="Move a customer to the recycle bin")
async def delete_customer(customer_id: CustomerId, actor: CurrentActor, crm: Crm) -> RecycleEntry:
    return await crm.recycle.delete(actor, customer_id)


@router.post(
    "/{customer_id}/phones",
    response_model=PhoneView,
    status_code=status.HTTP_201_CREATED,
    summary="Add a phone number to a customer",
)
async def add_phone(customer_id: CustomerId, body: PhoneInput, actor: CurrentActor, crm: Crm) -> PhoneView:
    return await crm.customers.add_phone(actor, customer_id, body)


@router.delete(
    "/{customer_id}/phones/{phone_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a customer's phone number",
)
async def remove_phone(customer_id: CustomerId, phone_id: PhoneId, actor: CurrentActor, crm: Crm) -> Response:
    await crm.customers.remove_phone(actor, customer_id, phone_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{customer_id}/contacts",
    response_model=ContactView,
    status_code=status.HTTP_201_CREATED,
    summary="Add a contact person to a (company) customer",
)
async def add_contact(
    customer_id: CustomerId, body: ContactInput, actor: CurrentActor, crm: Crm
) -> ContactView:
    return await crm.customers.add_contact(actor, customer_id, body)


@router.delete(
    "/{customer_id}/contacts/{contact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a customer's contact person",
)
async def remove_contact(
    customer_id: CustomerId, contact_id: ContactId, actor: CurrentActor, crm: Crm
) -> Response:
    await crm.customers.remove_contact(actor, customer_id, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
