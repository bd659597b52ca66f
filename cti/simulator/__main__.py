"""``python -m cti.simulator``: the PBX simulator as a process of its own.

A stand-in Asterisk for trying bankcti or loading it: it listens for AMI,
rings agent phones, and places inbound calls that run bankcti's FastAGI
service.  Three ways of calling:

* ``--calls N``: N calls at once (a burst);
* ``--rate R --duration S``: steady arrivals, R calls per second for S
  seconds (R x S calls, the n-th placed n/R seconds after the start, on an
  absolute schedule so that a slow placement does not slow the rate down);
* neither: a call every ``--interval`` seconds until stopped.

The first two start after a line on stdin when ``--wait-stdin`` is given,
wait for every call to end and print one JSON line with the results
(``calls``, ``answered``, ``unfinished``, ``seconds``; the rate mode adds
``rate``, ``duration`` and ``placing_seconds``, how long placing the calls
took: about (R x S - 1) / R unless the simulator fell behind).  Callers'
numbers come from ``--caller`` (repeat; used in turn), else ``+86139``
followed by the call's number on 8 digits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time

from cti.simulator import (
    AgentPhone,
    CallerScript,
    CallGenerator,
    PbxSimulator,
    SimulatedCall,
    SimulatorConfig,
)


def _parser() -> argparse.ArgumentParser:
    head, _, modes = __doc__.partition("\n\n")
    p = argparse.ArgumentParser(
        prog="python -m cti.simulator",
        description=head,
        epilog=modes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--ami-host", default="127.0.0.1")
    p.add_argument("--ami-port", type=int, default=5038)
    p.add_argument("--ami-username", default="bankcti")
    p.add_argument("--ami-secret", default="bankcti-secret")
    p.add_argument("--agi-host", default="127.0.0.1")
    p.add_argument("--agi-port", type=int, default=4573)
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--phone", action="append", default=[], help="agent device, e.g. PJSIP/1001 (repeat)")
    p.add_argument("--answer-after", type=float, default=2.0, help="seconds an agent phone rings")
    p.add_argument("--talk", type=float, default=None, help="seconds an agent talks (default: until caller)")
    p.add_argument("--keys", default="2,0", help="keys callers press, one menu answer per comma")
    p.add_argument("--hangup-after-answer", type=float, default=5.0)
    p.add_argument("--calls", type=int, default=0, help="place this many calls at once, then exit")
    p.add_argument(
        "--rate", type=float, default=0.0, help="steady arrivals: calls per second (with --duration)"
    )
    p.add_argument("--duration", type=float, default=0.0, help="seconds of steady arrivals (with --rate)")
    p.add_argument(
        "--interval", type=float, default=5.0, help="seconds between calls (without --calls/--rate)"
    )
    p.add_argument(
        "--caller", action="append", default=[], help="caller ID (E.164) of the calls, used in turn (repeat)"
    )
    p.add_argument("--wait-stdin", action="store_true", help="wait for a line on stdin before calling")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the calls to end")
    return p


def _script(n: int, args: argparse.Namespace) -> CallerScript:
    callers: list[str] = args.caller
    return CallerScript(
        caller_id=callers[n % len(callers)] if callers else f"+86139{n:08d}",
        keys=[k for k in args.keys.split(",")],
        key_delay=0.2,
        hangup_after_answer=args.hangup_after_answer,
    )


def _outcome(ends: list[bool | None], started: float) -> dict[str, object]:
    """The run's figures from each call's :func:`_ending`."""
    return {
        "calls": len(ends),
        "answered": sum(1 for end in ends if end),
        "unfinished": sum(1 for end in ends if end is None),
        "seconds": round(time.monotonic() - started, 3),
    }


async def _burst(sim: PbxSimulator, args: argparse.Namespace) -> dict[str, object]:
    if args.wait_stdin:
        await asyncio.to_thread(sys.stdin.readline)
    started = time.monotonic()
    calls = await asyncio.gather(*(sim.place_call(_script(n, args)) for n in range(args.calls)))
    deadline = time.monotonic() + args.timeout
    return _outcome(list(await asyncio.gather(*(_ending(call, deadline) for call in calls))), started)


async def _steady(sim: PbxSimulator, args: argparse.Namespace) -> dict[str, object]:
    """``--rate R --duration S``: call n is placed n/R seconds after the start (absolute schedule)."""
    if args.wait_stdin:
        await asyncio.to_thread(sys.stdin.readline)
    total = max(1, round(args.rate * args.duration))
    started = time.monotonic()
    # Every call has until --timeout after the last one is placed, as in a burst.
    deadline = started + (total - 1) / args.rate + args.timeout
    endings: list[asyncio.Task[bool | None]] = []
    for n in range(total):
        delay = started + n / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        call = await sim.place_call(_script(n, args))
        # Only the outcome is kept: a call with its events (~100 KB) held to the end of a 10-minute run at
        # 50 calls/s grew this process by gigabytes, and its collector's pauses stalled the calls.
        endings.append(asyncio.create_task(_ending(call, deadline)))
    placing = time.monotonic() - started
    outcome = _outcome(list(await asyncio.gather(*endings)), started)
    # How long placing took against the schedule's (total-1)/R: a simulator that fell behind shows here.
    return {**outcome, "rate": args.rate, "duration": args.duration, "placing_seconds": round(placing, 3)}


async def _ending(call: SimulatedCall, deadline: float) -> bool | None:
    """Whether ``call`` was answered once it ended; ``None``: it did not end by ``deadline``."""
    try:
        result = await call.wait_finished(timeout=max(0.0, deadline - time.monotonic()))
    except Exception:
        return None
    return bool(result.answered_by)


async def _run(args: argparse.Namespace) -> int:
    sim = PbxSimulator(
        SimulatorConfig(
            ami_host=args.ami_host,
            ami_port=args.ami_port,
            ami_username=args.ami_username,
            ami_secret=args.ami_secret,
            agi_host=args.agi_host,
            agi_port=args.agi_port,
            speed=args.speed,
        )
    )
    for device in args.phone:
        sim.add_phone(AgentPhone(device=device, answer_after=args.answer_after, talk_seconds=args.talk))
    await sim.start()
    print(json.dumps({"ami_port": sim.ami_port}), flush=True)
    try:
        if args.calls:
            print(json.dumps(await _burst(sim, args)), flush=True)
            return 0
        if args.rate:
            print(json.dumps(await _steady(sim, args)), flush=True)
            return 0
        generator = CallGenerator(sim, lambda n: _script(n, args), interval=args.interval)
        generator.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await generator.stop()
        return 0
    finally:
        await sim.close()


def main() -> int:
    parser = _parser()
    args = parser.parse_args()
    if args.calls and args.rate:
        parser.error("--calls and --rate are two different modes: give one")
    if args.rate < 0 or args.duration < 0 or bool(args.rate) != bool(args.duration):
        parser.error("--rate and --duration go together, both positive")
    try:
        return asyncio.run(_run(args))
    except OSError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
