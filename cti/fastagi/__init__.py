"""FastAGI: our own asyncio server for Asterisk's ``AGI(agi://...)``.

Not ``panoramisk.fast_agi`` (it spins on a bare connect-and-close and loses
sync after ``520`` usage errors and ``HANGUP`` lines; see
``shared/notes/libraries.md``).

* :class:`FastAgiServer` — accepts Asterisk connections and routes each
  session by script name to a handler ``async def handler(channel)``.
* :class:`AgiChannel` — the call as the script sees it: typed commands
  (``get_data``, ``stream_file``, ``set_variable``, ``exec``...).
* :class:`AgiHangup` / :class:`AgiCommandError` — channel gone / command
  rejected; :class:`AgiReply` — one parsed reply.
* :func:`format_command`, :func:`quote`, :func:`split_command`,
  :func:`parse_reply` — the wire format, shared with the PBX simulator.
"""

from cti.fastagi.channel import AgiChannel
from cti.fastagi.errors import AgiCommandError, AgiHangup, AgiProtocolError
from cti.fastagi.protocol import (
    MAX_LINE_BYTES,
    AgiReply,
    format_arg,
    format_command,
    parse_reply,
    quote,
    split_command,
)
from cti.fastagi.server import AgiHandler, BadAgiEnvironment, FastAgiServer, read_env

__all__ = [
    "MAX_LINE_BYTES",
    "AgiChannel",
    "AgiCommandError",
    "AgiHandler",
    "AgiHangup",
    "AgiProtocolError",
    "AgiReply",
    "BadAgiEnvironment",
    "FastAgiServer",
    "format_arg",
    "format_command",
    "parse_reply",
    "quote",
    "read_env",
    "split_command",
]
