"""Call control from the console: hold, transfers, hang-up, click-to-dial and supervisor actions.

Who may do what is decided here, on the server, for every request:

* an agent acts on the call the ACD says they are on (``call_id`` of
  their status) — never on a colleague's;
* a supervisor may also hang up, listen to, force the state of the agents
  of the teams they supervise (:class:`~agent_console.ports.WatchScopes`),
  and move waiting calls; an admin may do all of it for everyone;
* click-to-dial needs a customer the user may read in full (not a
  public-pool record), and calls one of that customer's own numbers.

The mechanics are the :class:`~agent_console.ports.CallControl` port's;
its errors become 404 (``LookupError``), 403 (``PermissionError``), 409
(``ValueError``: the call's state or the target does not allow it) and 503
(``ConnectionError``: the PBX is unreachable).
"""

# No ``from __future__ import annotations``: FastAPI must see the dependency aliases.

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal, TypeVar

import phonenumbers
from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from agent_console.auth import SessionDep
from agent_console.crm.deps import MAX_ID, CrmServices
from agent_console.crm.guard import CleanInputRoute, ErrorBody
from agent_console.hub import Hub
from agent_console.ports import AgentControl, CallControl, WatchScopes
from agent_console.schemas import AgentStatus
from agent_console.sessions import Session
from crm_core.customers.views import mask_phone

__all__ = ["calls_router"]

log = logging.getLogger(__name__)

T = TypeVar("T")
#: Text without control characters: names, targets, reasons (what the screen lets a user type).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]+$"
#: A login as the CRM accepts it (crm_core.contact_center.agents).
LOGIN_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
#: A phone number as a person writes it: digits, "+", spaces, dots, dashes, parentheses.
NUMBER_PATTERN = r"^[0-9+() .-]{3,32}$"
CallId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=TEXT_PATTERN, description="The call's id (its Linkedid)")
]
AgentLogin = Annotated[str, Path(pattern=LOGIN_PATTERN, description="The agent's login")]
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "Not logged in, or the session ended"},
    403: {"model": ErrorBody, "description": "Not your call, or not an agent of your teams"},
    404: {
        "model": ErrorBody,
        "description": "Unknown call, customer or agent, or no leg of yours on the call",
    },
    409: {"model": ErrorBody, "description": "The call's state or the target does not allow it"},
    # What the console's validation handler and CleanInputRoute really answer (not FastAPI's default body).
    422: {"model": ErrorBody, "description": "Invalid input; `field` names it"},
    503: {"model": ErrorBody, "description": "The PBX cannot be reached; try again"},
}


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["blind", "attended"] = Field(
        description="blind: at once; attended: consult the target first"
    )
    target_type: Literal["queue", "agent", "number"]
    target: str = Field(
        min_length=1,
        max_length=64,
        pattern=TEXT_PATTERN,
        description="Queue name, agent login or phone number",
    )


class DialRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1, le=MAX_ID)
    number: str | None = Field(
        default=None,
        pattern=NUMBER_PATTERN,
        description="One of the customer's numbers (any usual spelling); default: the primary one",
    )


class DialStarted(BaseModel):
    call_id: str = Field(description="The outbound call's id; the agent's phone rings first")
    number: str = Field(description="The number being called, masked but its last four digits")


class SpyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["listen", "whisper", "barge"]


class ForceStateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["paused", "logged_out", "available"]
    reason: str | None = Field(default=None, max_length=64, pattern=TEXT_PATTERN)


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    queue: str = Field(min_length=1, max_length=64, pattern=TEXT_PATTERN)


class CallActionDone(BaseModel):
    call_id: str
    action: str


def _message(exc: BaseException, default: str) -> str:
    if exc.args and isinstance(exc.args[0], str) and exc.args[0].strip():
        return exc.args[0]
    return default


async def _run(action: str, work: Callable[[], Awaitable[T]], **context: object) -> T:
    """Run a port call, turning its errors into HTTP answers."""
    try:
        return await work()
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, _message(exc, "not allowed")) from None
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _message(exc, "unknown call or agent")) from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, _message(exc, f"cannot {action} now")) from None
    except ConnectionError as exc:
        log.warning("console.call_control_unavailable", extra={"action": action, **context})
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, _message(exc, "the PBX cannot be reached")
        ) from None


def _same_number(raw: str, e164: str) -> bool:
    """Whether ``raw`` (any format; national in the stored number's country) is ``e164``."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164


def calls_router(calls: CallControl, control: AgentControl) -> APIRouter:
    """The call-control routes, bound to the ``calls`` port and the agents' ``control``."""
    router = APIRouter(prefix="/api", route_class=CleanInputRoute, tags=["calls"], responses=_ERRORS)

    def on_call(login: str, call_id: str) -> bool:
        """The ACD has ``login`` on ``call_id``, or ``login`` placed it (click-to-dial)."""
        if calls.dialled_by(call_id) == login:
            return True
        try:
            return control.status(login).call_id == call_id
        except LookupError:
            return False

    def own_call(session: Session, call_id: str) -> str:
        """The session's login, if they are on ``call_id`` (else 403)."""
        login = session.agent.login
        if not on_call(login, call_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "you are not on this call")
        return login

    async def require_watch(request: Request, session: Session, agent: str) -> None:
        """403 unless the session supervises ``agent`` (an admin supervises everybody)."""
        if not session.is_observer:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only supervisors and admins may do this")
        if session.agent.role == "admin":
            return
        scopes: WatchScopes | None = getattr(request.app.state, "watch_scopes", None)
        if scopes is None:
            return
        try:
            watched = await scopes.watched_logins(session.agent.login)
        except Exception:
            log.exception("console.scopes_failed", extra={"login": session.agent.login})
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "your teams cannot be read now; try again"
            ) from None
        if watched is not None and agent not in watched:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"{agent} is not an agent of your teams")

    def done(call_id: str, action: str, login: str) -> CallActionDone:
        log.info("console.call_action", extra={"call_id": call_id, "action": action, "login": login})
        return CallActionDone(call_id=call_id, action=action)

    # -- the agent's own call ------------------------------------------------------------------
    @router.post("/calls/{call_id}/hold", response_model=CallActionDone, summary="Put the caller on hold")
    async def hold(call_id: CallId, session: SessionDep) -> CallActionDone:
        login = own_call(session, call_id)
        await _run("hold", lambda: calls.hold(login, call_id), call_id=call_id)
        return done(call_id, "hold", login)

    @router.post(
        "/calls/{call_id}/resume", response_model=CallActionDone, summary="Take the held caller back"
    )
    async def resume(call_id: CallId, session: SessionDep) -> CallActionDone:
        login = own_call(session, call_id)
        await _run("resume", lambda: calls.resume(login, call_id), call_id=call_id)
        return done(call_id, "resume", login)

    @router.post(
        "/calls/{call_id}/hangup",
        response_model=CallActionDone,
        summary="Hang up (an agent: their call; a supervisor: a call of an agent of their teams)",
    )
    async def hangup(call_id: CallId, request: Request, session: SessionDep) -> CallActionDone:
        login = session.agent.login
        if not on_call(login, call_id):
            hub: Hub = request.app.state.hub
            agent = hub.offered_to(call_id) if session.is_observer else None
            if agent is None:
                raise HTTPException(status.HTTP_403_FORBIDDEN, "you are not on this call")
            await require_watch(request, session, agent)
            login = agent
        await _run("hang up", lambda: calls.hangup(login, call_id), call_id=call_id)
        return done(call_id, "hangup", session.agent.login)

    @router.post(
        "/calls/{call_id}/transfer",
        response_model=CallActionDone,
        summary="Transfer to a queue, agent or number",
    )
    async def transfer(call_id: CallId, body: TransferRequest, session: SessionDep) -> CallActionDone:
        login = own_call(session, call_id)
        if body.target_type == "agent" and body.target == login:
            raise HTTPException(status.HTTP_409_CONFLICT, "you cannot transfer a call to yourself")
        await _run(
            "transfer",
            lambda: calls.transfer(
                login, call_id, kind=body.kind, target_type=body.target_type, target=body.target
            ),
            call_id=call_id,
        )
        return done(call_id, f"transfer-{body.kind}", login)

    @router.post(
        "/calls/{call_id}/transfer/complete",
        response_model=CallActionDone,
        summary="Complete an attended transfer (you leave the call)",
    )
    async def complete(call_id: CallId, session: SessionDep) -> CallActionDone:
        login = own_call(session, call_id)
        await _run("complete the transfer", lambda: calls.complete_transfer(login, call_id), call_id=call_id)
        return done(call_id, "transfer-complete", login)

    @router.post(
        "/calls/{call_id}/transfer/cancel",
        response_model=CallActionDone,
        summary="Cancel an attended transfer (back to the caller)",
    )
    async def cancel(call_id: CallId, session: SessionDep) -> CallActionDone:
        login = own_call(session, call_id)
        await _run("cancel the transfer", lambda: calls.cancel_transfer(login, call_id), call_id=call_id)
        return done(call_id, "transfer-cancel", login)

    # -- click-to-dial ------------------------------------------------------------------------------
    @router.post(
        "/dial", response_model=DialStarted, summary="Call a customer: your phone rings, then theirs"
    )
    async def dial(body: DialRequest, request: Request, session: SessionDep) -> DialStarted:
        crm: CrmServices | None = request.app.state.crm
        if crm is None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "click-to-dial needs the CRM")
        login = session.agent.login
        hub: Hub = request.app.state.hub
        remote = request.client.host if request.client else None
        actor = await crm.actors.actor(login, remote, hub.offered_customers(login))
        customer = await crm.customers.get(actor, body.customer_id)  # NotFound → 404, audited as a view
        if customer.limited:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "claim this customer from the public pool first")
        numbers = sorted(customer.phones, key=lambda p: not p.is_primary)
        if not numbers:
            raise HTTPException(status.HTTP_409_CONFLICT, "this customer has no phone number")
        number = numbers[0].e164
        if body.number is not None:
            match = next((p.e164 for p in numbers if _same_number(body.number, p.e164)), None)
            if match is None:
                raise HTTPException(422, "number is not one of this customer's numbers")
            number = match
        call_id = await _run("dial", lambda: calls.dial(login, body.customer_id, number), login=login)
        log.info("console.dial", extra={"login": login, "customer_id": body.customer_id, "call_id": call_id})
        return DialStarted(call_id=call_id, number=mask_phone(number))

    # -- supervisor actions ------------------------------------------------------------------------
    @router.post(
        "/supervisor/agents/{login}/spy",
        response_model=CallActionDone,
        summary="Listen, whisper or barge on an agent's call (your phone rings)",
    )
    async def spy(
        login: AgentLogin, body: SpyRequest, request: Request, session: SessionDep
    ) -> CallActionDone:
        await require_watch(request, session, login)
        try:
            call_id = control.status(login).call_id
        except LookupError:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{login} is not an ACD agent") from None
        if call_id is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"{login} is not on a call")
        await _run("spy", lambda: calls.spy(session.agent.login, login, body.mode), agent=login)
        return done(call_id, f"spy-{body.mode}", session.agent.login)

    @router.post(
        "/supervisor/agents/{login}/state",
        response_model=AgentStatus,
        summary="Force an agent's state (a busy agent changes after the call)",
    )
    async def force_state(
        login: AgentLogin, body: ForceStateRequest, request: Request, session: SessionDep
    ) -> AgentStatus:
        await require_watch(request, session, login)
        result = await _run(
            "change the state",
            lambda: calls.force_state(login, body.state, body.reason, by=session.agent.login),
            agent=login,
        )
        log.info(
            "console.state_forced", extra={"login": login, "state": body.state, "by": session.agent.login}
        )
        return result

    @router.post(
        "/supervisor/calls/{call_id}/move",
        response_model=CallActionDone,
        summary="Move a waiting call to another queue",
    )
    async def move(call_id: CallId, body: MoveRequest, session: SessionDep) -> CallActionDone:
        if not session.is_observer:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "only supervisors and admins may move calls")
        await _run("move the call", lambda: calls.move_call(call_id, body.queue, by=session.agent.login))
        return done(call_id, "move", session.agent.login)

    return router
