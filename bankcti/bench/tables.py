"""The README's Markdown for each benchmark's JSON result: what was run, the table, the goal and its verdict.

One function per README section.  A section is named by the result's ``benchmark`` key, except the steady
screen-pop runs (``bench pop --rate``), which share a ``pop-steady`` section, one row per run, so the
in-process and MQTT runs at several agent counts read as one table.  Every figure goes through
:func:`figure`, so the README never shows a float's noise digits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["MANY", "SECTIONS", "figure", "section_name"]

Result = Mapping[str, Any]


def figure(value: Any, digits: int = 3) -> str:
    """A figure as the README shows it: thin-space thousands, at most ``digits`` decimals, no trailing 0."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{round(value):,}".replace(",", "\u202f")
        text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
        return text or "0"
    return str(value)


_n = figure


def _ms(value: Any, digits: int = 1) -> str:
    return "–" if value is None else f"{figure(value, digits)} ms"


def _verdict(met: Any) -> str:
    return "met" if met else "**not met**"


def section_name(result: Result) -> str:
    """The README section a result belongs to (see the module)."""
    name = str(result.get("benchmark"))
    if name == "pop" and result.get("mode") == "steady":
        return "pop-steady"
    return name


def _route(results: Sequence[Result]) -> list[str]:
    (result,) = results
    fast, slow = result["indexed"], result["naive"]
    return [
        f"`bankcti bench route --agents {result['agents']} --skills {result['skills']} "
        f"--queues {result['queues']} --events {result['events']} --seed {result['seed']}`: "
        f"{_n(fast['decisions'])} routing decisions, {_n(result['offers'])} offers, "
        f"same decisions from both selectors: {_n(result['same_decisions'])}.",
        "",
        "| selector | decisions/s | p50 | p99 |",
        "|---|---|---|---|",
        f"| indexed router | {_n(fast['decisions_per_s'])} | {_n(fast['p50_ms'])} ms "
        f"| {_n(fast['p99_ms'])} ms |",
        f"| naive full scan (reference) | {_n(slow['decisions_per_s'])} | {_n(slow['p50_ms'])} ms "
        f"| {_n(slow['p99_ms'])} ms |",
        "",
        f"The router decides {_n(result['ratio']['decisions_per_s_indexed_over_naive'], 1)}× faster than "
        f"the full scan; p99 {_n(result['ratio']['p99_naive_over_indexed'], 1)}× lower.",
    ]


def _pop(results: Sequence[Result]) -> list[str]:
    (result,) = results
    return [
        f"`bankcti bench pop --calls {result['calls']} --agents {result['agents']}` ({result['bus']} bus): "
        f"{_n(result['pops'])} pops, agent assigned → pop received in the agent's websocket client.",
        "",
        "| pops | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|",
        f"| {_n(result['pops'])} | {_n(result['p50_ms'], 1)} ms | {_n(result['p95_ms'], 1)} ms "
        f"| {_n(result['p99_ms'], 1)} ms | {_n(result['max_ms'], 1)} ms |",
        *_ring_after_pop(result.get("ring_after_pop")),
    ]


def _ring_after_pop(ring: Any) -> list[str]:
    """Pop received → phone rings (results measured before it existed have none: nothing is shown)."""
    if not isinstance(ring, Mapping) or not ring.get("pairs"):
        return []
    return [
        "",
        f"Pop received → the agent's phone starts ringing (`DialBegin`), {_n(ring['pairs'])} pops: "
        f"min {_n(ring['min_ms'], 1)} ms, p50 {_n(ring['p50_ms'], 1)} ms, p95 {_n(ring['p95_ms'], 1)} ms, "
        f"max {_n(ring['max_ms'], 1)} ms; phone first: {_n(ring['rang_first'])}.",
    ]


# Issue 15's goals for steady pops: p99 at most this many ms with at most this many agents.
_POP_GOALS = ((300, 10.0), (1000, 25.0))


def _pop_goal(agents: int) -> float | None:
    return next((ms for most, ms in _POP_GOALS if agents <= most), None)


def _pop_steady(results: Sequence[Result]) -> list[str]:
    rows = []
    for result in sorted(results, key=lambda r: (r["bus"], r["agents"], r["rate"])):
        goal = _pop_goal(int(result["agents"]))
        verdict = "–" if goal is None else f"≤ {_n(goal)} ms: {_verdict(result['p99_ms'] <= goal)}"
        with_record = min(result["pops_with_customer"], result["pops_with_accounts"])
        rows.append(
            f"| {_n(result['rate'])}/s × {_n(result['duration'])} s | {_n(result['agents'])} "
            f"| {result['bus']} | {_n(result['pops'])} | {_n(with_record)} "
            f"| {_n(result['pop_bytes']['p50'])} B "
            f"| {_ms(result['p50_ms'])} | {_ms(result['p99_ms'])} | {_ms(result['max_ms'])} | {verdict} |"
        )
    return [
        "`bankcti bench pop --rate R --duration S --agents M`: calls arrive steadily through the simulator, "
        "callers are seeded customers (accounts, contracts, follow-ups, IVR path), and the time is from the "
        "ACD's reservation to the pop decoded in the agent's client process.",
        "",
        "| arrivals | agents | bus | pops | with full record | size p50 | p50 | p99 | max | goal p99 |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def _analytics(results: Sequence[Result]) -> list[str]:
    (result,) = results
    return [
        f"`bankcti bench analytics --transactions {result['transactions']}` on PostgreSQL "
        f"({_n(result['customers'])} customers):",
        "",
        "| transactions | fill | segmentation | goal |",
        "|---|---|---|---|",
        f"| {_n(result['transactions'])} | {_n(result['fill_seconds'], 2)} s | "
        f"{_n(result['segment_seconds'], 2)} s | < {_n(result['goal_seconds'])} s "
        f"({'met' if result['goal_met'] else 'missed'}) |",
    ]


def _history(results: Sequence[Result]) -> list[str]:
    (result,) = results
    names = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}
    rows = []
    for backend in ("postgresql", "sqlite"):
        one = result.get(backend)
        if not isinstance(one, Mapping):
            continue
        run, steady, base = one["throughput"], one["steady"] or {}, one["baseline"]
        rows.append(
            f"| {names[backend]} | {_n(run['interactions_per_s'], 1)} | {_n(run['writes_per_s'], 1)} "
            f"| {_n(base['interactions_per_s'], 1)} | {_n(one['ratio_to_baseline'])}× | {_n(one['lost'])} "
            f"| {_n(steady.get('p50_ms'), 1)} ms | {_n(steady.get('p99_ms'), 1)} ms |"
        )
    return [
        f"`bankcti bench history --calls {result['calls']} --concurrency {result['concurrency']} "
        f"--rate {_n(result['rate'])} --duration {_n(result['duration_s'])}`: each call makes the call "
        f"flow's {result['writes_per_call']} history writes (row, legs, end) through `ResilientHistory`, "
        "steps merged as they happen; the reference writes the same final rows with the driver's "
        "`executemany`.",
        "",
        "| database | interactions/s | writes/s | plain executemany/s | ratio | lost | "
        f"p50 step → durable at {_n(result['rate'])} calls/s | p99 |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def _fastagi(results: Sequence[Result]) -> list[str]:
    (result,) = results
    rows = []
    for phase in result["phases"]:
        pace = f", {_n(phase['think_ms'])} ms apart" if phase["think_ms"] else ""
        for kind, label in (("ours", "bankcti"), ("panoramisk", "panoramisk (reference)")):
            one = phase[kind]
            ratio = f"{_n(phase['ratio_commands_per_s'], 2)}×" if kind == "ours" else ""
            rows.append(
                f"| {_n(phase['sessions'])} sessions × {_n(phase['commands_per_session'])} commands{pace} "
                f"| {label} | {_n(one['commands_per_s'])} | {_ms(one['p50_ms'], 2)} "
                f"| {_ms(one['p99_ms'], 2)} | {_ms(one['max_ms'], 2)} "
                f"| {_n(one['server_cpu_us_per_command'], 1)} µs | {ratio} |"
            )
    goal = result["goal"]
    return [
        f"`bankcti bench fastagi --sessions {' '.join(str(s) for s in result['sessions'])} --rounds "
        f"{result['rounds']}`: one client process drives both servers, each in a fresh process of its own, "
        "with the same scripted sessions; turnaround is from the client's reply to the next command line.",
        "",
        "| load | server | commands/s | p50 | p99 | max | server CPU/command | ours ÷ reference |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Goal ≥ 1× the reference at every load: {_verdict(goal['ratio_at_least_1'])}; p99 < 5 ms at the "
        f"largest paced load: {_verdict(goal['p99_under_5ms'])} ({_ms(goal['p99_ms_at_largest'], 2)}); "
        f"every command answered by both servers: {_n(result['all_answered'])}.",
    ]


def _wallboard(results: Sequence[Result]) -> list[str]:
    (result,) = results
    latency, gaps, pushes = result["latency"], result["gaps"], result["pushes"]
    return [
        f"`bankcti bench wallboard --rate {_n(result['rate'])} --seconds {_n(result['seconds'])} --agents "
        f"{result['agents']} --interval {_n(result['interval_s'])}` ({result['database']}): "
        f"{_n(result['calls'])} calls, time from `call.queued` published to the first wallboard message "
        "counting the call on the supervisor's websocket.",
        "",
        "| calls shown | never shown | p50 | p95 | p99 | max | closest two messages | interval kept |",
        "|---|---|---|---|---|---|---|---|",
        f"| {_n(latency['calls_measured'])} | {_n(latency['never_shown'])} | {_ms(latency['p50_ms'])} "
        f"| {_ms(latency['p95_ms'])} | {_ms(latency['p99_ms'])} | {_ms(latency['max_ms'])} "
        f"| {_ms(gaps['min_ms'])} | {_n(gaps['server_kept_interval'])} |",
        "",
        f"Goal p99 ≤ 1 s: {_verdict(result['goal_p99_within_1s'])}; {_n(pushes['messages'])} messages, "
        f"one picture built and serialised in {_ms(pushes['render_ms'], 2)} "
        f"({_n(pushes['frame_bytes'])} bytes).",
    ]


def _soak(results: Sequence[Result]) -> list[str]:
    (result,) = results
    calls, stored = result["calls"], result["interactions"]
    service, simulator, rss = result["service_cpu"], result["simulator_cpu"], result["service_rss"]
    growth = rss["growth_percent"]
    return [
        f"`bankcti bench soak --rate {_n(result['rate'])} --minutes {_n(result['minutes'])}` "
        f"({result['bus']} bus, {_n(result['agents'])} agents): the service and the simulator in processes "
        f"of their own, CPU and RSS read from `/proc` after a {_n(result['warmup_seconds'])} s warm-up.",
        "",
        "| calls placed | answered | interactions written | lost | service CPU | per call | simulator CPU "
        "| service RSS after warm-up → end | growth |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {_n(calls['placed'])} | {_n(calls['answered'])} | {_n(stored['written'])} | {_n(stored['lost'])} "
        f"| {_n(service['percent_of_core'], 1)} % of a core | {_ms(service['ms_per_call'], 2)} "
        f"| {_n(simulator['percent_of_core'], 1)} % | {_n(rss['after_warmup_mib'], 1)} → "
        f"{_n(rss['end_mib'], 1)} MiB | {_n(growth, 1)} % |",
        "",
        f"Goals: service CPU < 50 % of a core: {_verdict(service['percent_of_core'] < 50)}; RSS growth "
        f"≤ 10 %: {_verdict(growth <= 10)}; nothing lost: {_verdict(stored['lost'] == 0)}.",
    ]


# Section name -> renderer of the section's results (one result, except ``pop-steady``).
SECTIONS: dict[str, Callable[[Sequence[Result]], list[str]]] = {
    "route": _route,
    "pop": _pop,
    "pop-steady": _pop_steady,
    "analytics": _analytics,
    "history": _history,
    "fastagi": _fastagi,
    "wallboard": _wallboard,
    "soak": _soak,
}

# Sections that show several results (one row each); the others show exactly one.
MANY = frozenset({"pop-steady"})
