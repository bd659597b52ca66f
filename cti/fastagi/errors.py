"""Exceptions raised by the FastAGI channel.

Two families matter to a script:

* :class:`AgiHangup` — the call's channel is gone (or the session can no
  longer talk to Asterisk).  The script should stop issuing call-control
  commands and return; the server closes the session.
* :class:`AgiCommandError` — Asterisk rejected one command (``510`` unknown
  command, ``520`` usage error).  The connection stays in sync, so the script
  may go on with the next command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cti.fastagi.protocol import AgiReply

__all__ = ["AgiCommandError", "AgiHangup", "AgiProtocolError"]


class AgiHangup(Exception):
    """The channel is gone.

    Raised when a reading command (``GET DATA``, ``WAIT FOR DIGIT``,
    ``STREAM FILE``, ``SAY *``, ``ANSWER``) answers ``result=-1``, when
    Asterisk answers ``511 Command Not Permitted on a dead channel``, and when
    the socket reaches EOF.  An unsolicited ``HANGUP`` line alone does not
    raise: it only marks :attr:`AgiChannel.hung_up`, and the reply of the
    pending command is still returned.
    """


class AgiProtocolError(AgiHangup):
    """The peer broke the AGI framing: a line over the length bound, or a
    reply line that is not ``<3 digits> ...``.

    The session cannot be trusted to be in sync any more, so this is a kind of
    :class:`AgiHangup`: code that unwinds on hang-up unwinds on this too.
    """


class AgiCommandError(Exception):
    """Asterisk rejected a command (``510`` invalid command, ``520`` usage).

    :attr:`reply` is the complete reply; for a multi-line ``520-`` block its
    ``raw`` holds every line of the usage text, already read off the socket,
    so the next command reads its own reply.
    """

    def __init__(self, reply: AgiReply) -> None:
        super().__init__(reply.raw)
        self.reply = reply

    @property
    def code(self) -> int:
        """The AGI status code (``510``, ``520``, ...)."""
        return self.reply.code
