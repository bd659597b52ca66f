"""Commission accounting (提成核算): rules, credit splits, statements per agent, approval, CSV.

Everything is :class:`crm_core.commission.service.CommissionService`'s: an agent sees
their own statements, a supervisor their teams', an admin all; rules are
changed (a new version each time) and periods run by admins; a statement
is approved by a supervisor of the agent's team or an admin and is frozen
from then on.  Amounts and rates travel as strings.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from agent_console.crm.deps import MAX_ID, ContractId, Crm, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.commission.schemas import (
    PERIOD_PATTERN,
    ProductKey,
    RuleCreate,
    RuleUpdate,
    RuleView,
    RunResult,
    SplitShare,
    SplitView,
    StatementSummary,
    StatementView,
)

__all__ = ["RunRequest", "SplitRequest", "router"]

router = APIRouter(
    prefix="/api/crm/commission", tags=["commission"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)

Period = Annotated[
    str,
    Query(
        pattern=PERIOD_PATTERN, description="The month, YYYY-MM (2000-01 to 2999-12)", examples=["2026-11"]
    ),
]
StatementId = Annotated[int, Path(ge=1, le=MAX_ID, description="The statement's id")]
RuleId = Annotated[int, Path(ge=1, le=MAX_ID, description="The id of any version of the rule")]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8, with a header row"}
}


class RunRequest(BaseModel):
    """The month to (re)compute."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(
        pattern=PERIOD_PATTERN, description="The month, YYYY-MM (2000-01 to 2999-12)", examples=["2026-11"]
    )


class SplitRequest(BaseModel):
    """Shared owners' percentages, summing to exactly 100 (empty: back to the owner at 100 %)."""

    model_config = ConfigDict(extra="forbid")

    shares: list[SplitShare] = Field(max_length=10)


def _csv(body: str, name: str) -> Response:
    return Response(
        content=body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/rules", response_model=list[RuleView], summary="List commission rule versions")
async def list_rules(
    actor: CurrentActor, crm: Crm, product_key: Annotated[ProductKey | None, Query()] = None
) -> list[RuleView]:
    return await crm.commission.rules.list_rules(product_key)


@router.post(
    "/rules",
    response_model=RuleView,
    status_code=status.HTTP_201_CREATED,
    summary="Create the rule of a product key (admin)",
)
async def create_rule(body: RuleCreate, actor: CurrentActor, crm: Crm) -> RuleView:
    return await crm.commission.rules.create_rule(actor, body)


@router.put(
    "/rules/{rule_id}",
    response_model=RuleView,
    status_code=status.HTTP_201_CREATED,
    summary="Change a rule from a date on: adds a new version (admin)",
)
async def update_rule(rule_id: RuleId, body: RuleUpdate, actor: CurrentActor, crm: Crm) -> RuleView:
    return await crm.commission.rules.new_version(actor, rule_id, body)


@router.get("/contracts/{contract_id}/split", response_model=SplitView, summary="A contract's credit split")
async def get_split(contract_id: ContractId, actor: CurrentActor, crm: Crm) -> SplitView:
    return await crm.commission.rules.get_split(actor, contract_id)


@router.put(
    "/contracts/{contract_id}/split",
    response_model=SplitView,
    summary="Set a contract's credit split between shared owners (supervisor, admin)",
)
async def set_split(contract_id: ContractId, body: SplitRequest, actor: CurrentActor, crm: Crm) -> SplitView:
    return await crm.commission.rules.set_split(actor, contract_id, body.shares)


@router.post("/runs", response_model=RunResult, summary="Compute the open statements of a month (admin)")
async def run_period(body: RunRequest, actor: CurrentActor, crm: Crm) -> RunResult:
    return await crm.commission.run(actor, body.period)


@router.get("/statements", response_model=list[StatementSummary], summary="Statements of a month you may see")
async def list_statements(period: Period, actor: CurrentActor, crm: Crm) -> list[StatementSummary]:
    return await crm.commission.statements(actor, period)


@router.get(
    "/statements.csv",
    response_class=Response,
    responses=_CSV,
    summary="Statements of a month as CSV",
)
async def statements_csv(period: Period, actor: CurrentActor, crm: Crm) -> Response:
    return _csv(await crm.commission.statements_csv(actor, period), f"commission-{period.strip()}.csv")


@router.get(
    "/lines.csv", response_class=Response, responses=_CSV, summary="Every visible line of a month as CSV"
)
async def lines_csv(period: Period, actor: CurrentActor, crm: Crm) -> Response:
    return _csv(
        await crm.commission.lines_csv(actor, period=period), f"commission-lines-{period.strip()}.csv"
    )


@router.get(
    "/statements/{statement_id}",
    response_model=StatementView,
    summary="One statement with its lines (contract and payment of each)",
)
async def get_statement(statement_id: StatementId, actor: CurrentActor, crm: Crm) -> StatementView:
    return await crm.commission.get(actor, statement_id)


@router.get(
    "/statements/{statement_id}/lines.csv",
    response_class=Response,
    responses=_CSV,
    summary="One statement's lines as CSV",
)
async def statement_lines_csv(statement_id: StatementId, actor: CurrentActor, crm: Crm) -> Response:
    body = await crm.commission.lines_csv(actor, statement_id=statement_id)
    return _csv(body, f"commission-statement-{statement_id}.csv")


@router.post(
    "/statements/{statement_id}/approve",
    response_model=StatementView,
    summary="Approve (freeze) a statement (supervisor of the agent's team, admin)",
)
async def approve_statement(statement_id: StatementId, actor: CurrentActor, crm: Crm) -> StatementView:
    return await crm.commission.approve(actor, statement_id)
