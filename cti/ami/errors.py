"""Exceptions raised by the AMI client.

Every error of the AMI link derives from :class:`AmiError`, so a caller that
only wants to survive a flaky PBX can catch that one class.
"""

from __future__ import annotations

from cti.ami.message import AmiMessage

__all__ = [
    "AmiActionError",
    "AmiConnectionError",
    "AmiError",
    "AmiLoginError",
    "AmiTimeoutError",
]


class AmiError(Exception):
    """Base class of every AMI error."""


class AmiConnectionError(AmiError):
    """The AMI link is down: not connected yet, refused, lost or closed.

    An action that was in flight when the connection dropped fails with this
    error; it is never replayed, because AMI actions (Originate, Hangup) are
    not idempotent.
    """


class AmiLoginError(AmiError):
    """Asterisk refused the Login (wrong user or secret, or host not permitted)."""


class AmiTimeoutError(AmiError):
    """An action got no response within its timeout."""


class AmiActionError(AmiError):
    """Asterisk answered an action with ``Response: Error``.

    :attr:`message` is Asterisk's ``Message`` field (``"No such channel"``),
    :attr:`response` the whole response.
    """

    def __init__(self, action: str, response: AmiMessage) -> None:
        self.action = action
        self.response = response
        self.message = response.get("Message") or "no message"
        super().__init__(f"AMI action {action} failed: {self.message}")
