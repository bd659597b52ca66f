"""Bodies of the console's JSON API and of its websocket ``hello``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AgentInfo",
    "AgentState",
    "AgentStatus",
    "Dispositions",
    "Health",
    "LoginRequest",
    "RequestableState",
    "SessionInfo",
    "StateRequest",
    "WrapUpExtension",
]

AgentState = Literal[
    "logged_out", "available", "reserved", "ringing", "on_call", "on_hold", "wrap_up", "paused"
]
RequestableState = Literal["available", "paused", "logged_out"]


class AgentStatus(BaseModel):
    """Where an agent stands in the ACD, as the console shows it."""

    login: str
    state: AgentState
    reason: str | None = None  # pause reason
    since: float  # epoch seconds of the last state change
    call_id: str | None = None  # the call being offered, handled or wrapped up
    # In wrap-up: when it ends by itself and the latest it may be extended to (epoch seconds);
    # wrapup_required: the queue requires the call's wrap-up saved before the next call and it is
    # not yet (no offer and no "ready" until it is, or until wrapup_max_until).  None / False otherwise.
    wrapup_until: float | None = None
    wrapup_max_until: float | None = None
    wrapup_required: bool = False


class WrapUpExtension(BaseModel):
    """How many seconds to add to the agent's wrap-up (up to the queue's maximum)."""

    model_config = ConfigDict(extra="forbid")

    seconds: int = Field(ge=1, le=600, description="Seconds to add to the wrap-up, 1 to 600")


class AgentInfo(BaseModel):
    login: str
    name: str
    role: str


class LoginRequest(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class SessionInfo(BaseModel):
    """A session as the browser sees it (``token`` only on login and renew)."""

    token: str | None = None
    expires_at: float  # epoch seconds
    agent: AgentInfo


class StateRequest(BaseModel):
    state: RequestableState
    reason: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _pause_needs_reason(self) -> StateRequest:
        if self.reason is not None:
            self.reason = self.reason.strip() or None
        if self.state == "paused" and self.reason is None:
            raise ValueError("a pause needs a reason")
        if self.state != "paused":
            self.reason = None
        return self


class Dispositions(BaseModel):
    dispositions: list[str]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
