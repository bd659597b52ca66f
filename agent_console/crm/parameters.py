"""``/api/crm/parameters``: the typed, validated knobs of the CRM (caps, periods, lists of names).

Every logged-in user may read them (the console needs e.g. the
dispositions and pause reasons); only an admin changes one, with a reason,
and reads its change history.  A value the parameter's type refuses is a
422 naming the key.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from agent_console.crm.deps import Crm, CurrentActor
from agent_console.crm.guard import ERROR_RESPONSES, CleanInputRoute
from crm_core.errors import AccessDenied, NotFound
from crm_core.parameters.store import ParameterChangeView, ParameterView

__all__ = ["ParameterChange", "router"]

router = APIRouter(
    prefix="/api/crm/parameters", tags=["parameters"], route_class=CleanInputRoute, responses=ERROR_RESPONSES
)

Key = Annotated[str, Path(min_length=1, max_length=64, description="e.g. protection.daily_claim_cap")]


class ParameterChange(BaseModel):
    """A new value (JSON of the parameter's type) and why it changes."""

    model_config = ConfigDict(extra="forbid")

    value: Any = Field(description='The new value, e.g. 5, true, ["break", "lunch"]')
    reason: str = Field(min_length=1, max_length=255)


@router.get("", response_model=list[ParameterView], summary="Every parameter with its value and default")
async def list_parameters(_: CurrentActor, crm: Crm) -> list[ParameterView]:
    return await crm.parameters.get_all()


@router.get("/{key}", response_model=ParameterView, summary="One parameter")
async def get_parameter(key: Key, _: CurrentActor, crm: Crm) -> ParameterView:
    for view in await crm.parameters.get_all():
        if view.key == key:
            return view
    raise NotFound(f"no parameter {key!r}")


@router.put("/{key}", response_model=ParameterView, summary="Change a parameter (admins; audited)")
async def set_parameter(key: Key, body: ParameterChange, actor: CurrentActor, crm: Crm) -> ParameterView:
    return await crm.parameters.set(actor, key, body.value, body.reason)


@router.get(
    "/{key}/history", response_model=list[ParameterChangeView], summary="A parameter's changes (admins)"
)
async def parameter_history(key: Key, actor: CurrentActor, crm: Crm) -> list[ParameterChangeView]:
    if not actor.is_admin:
        raise AccessDenied("only an admin reads the history of parameters")
    return await crm.parameters.history(key)
