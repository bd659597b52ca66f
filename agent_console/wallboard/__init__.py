"""The supervisor wallboard: today's live figures of the queues and agents, pushed to observers.

- :mod:`~agent_console.wallboard.board` — the live board: folds bus events
  into today's figures and pushes a snapshot to subscribed observers
  (:class:`Wallboard`, :class:`WallboardConfig`, :class:`EventFanout`);
- :mod:`~agent_console.wallboard.figures` — what each figure of the day
  means and how events change it;
- :mod:`~agent_console.wallboard.build` — a snapshot from the figures and
  the live ACD;
- :mod:`~agent_console.wallboard.schemas` — the snapshot's wire shape;
- :mod:`~agent_console.wallboard.seed` — today's figures seeded from the
  follow-up history at start;
- :mod:`~agent_console.wallboard.directory` — customer, agent and queue
  names shown on the board;
- :mod:`~agent_console.wallboard.counts` — an interval's counters and KPIs;
- :mod:`~agent_console.wallboard.api` — ``GET /api/wallboard``.
"""

from agent_console.wallboard.api import wallboard_router
from agent_console.wallboard.board import TOPIC, EventFanout, Wallboard, WallboardConfig
from agent_console.wallboard.directory import DbWallboardDirectory
from agent_console.wallboard.schemas import WallboardSnapshot
from agent_console.wallboard.seed import DbCallHistory

__all__ = [
    "TOPIC",
    "DbCallHistory",
    "DbWallboardDirectory",
    "EventFanout",
    "Wallboard",
    "WallboardConfig",
    "WallboardSnapshot",
    "wallboard_router",
]
