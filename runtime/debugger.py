"""Breakpoints and stepping for runs started from the editor (no Qt here: the editor shows what
`paused` holds and calls `step`, `resume` or `stop`).

A run that reaches an event with a breakpoint (or the next event after Step) waits in `pause`
with its transaction open; the time it waits does not count against its time limit
(runtime.executor moves the limit on). Other requests keep being answered meanwhile: reads in
parallel, while on SQLite a run that writes waits behind the paused one's write lock, which the
editor says. Stop fails the run with 409, so everything it wrote is rolled back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STEP, CONTINUE, STOP = "step", "continue", "stop"


@dataclass
class Paused:
    """A run waiting at an event: what the Properties panel shows."""

    action: str
    event: str
    kind: str
    label: str
    variables: dict[str, Any]  # every variable in scope (events' outputs as "#n1.result")
    inputs: dict[str, Any]  # the event's inputs, computed and pending
    future: asyncio.Future = field(repr=False, default=None)  # type: ignore[assignment]


class Debugger:
    """Breakpoints by (action, event id); the runs paused now, oldest first."""

    def __init__(self, on_change: Callable[[], None] | None = None):
        self.breakpoints: set[tuple[str, str]] = set()
        self.paused: list[Paused] = []
        self.on_change = on_change  # called whenever a run pauses or goes on

    def toggle(self, action: str, event: str) -> bool:
        """Set or clear a breakpoint; whether it is set now."""
        key = (action, event)
        if key in self.breakpoints:
            self.breakpoints.discard(key)
            return False
        self.breakpoints.add(key)
        return True

    def wants(self, action: str, event: str) -> bool:
        """Whether a run should pause at this event (a breakpoint there)."""
        return (action, event) in self.breakpoints

    async def pause(self, action: str, step: Any, scope: dict, inputs: dict) -> str:
        """Wait until the editor says step, continue or stop; returns which."""
        future = asyncio.get_running_loop().create_future()
        paused = Paused(action, step.id, step.kind.id, step.label, dict(scope), dict(inputs),
                        future)
        self.paused.append(paused)
        self._changed()
        try:
            return await future
        finally:
            self.paused.remove(paused)
            self._changed()

    def _answer(self, command: str, paused: Paused | None) -> bool:
        paused = paused or (self.paused[0] if self.paused else None)
        if paused is None or paused.future.done():
            return False
        paused.future.set_result(command)
        return True

    def step(self, paused: Paused | None = None) -> bool:
        """Run the paused event and pause again at the next one (the oldest paused run)."""
        return self._answer(STEP, paused)

    def resume(self, paused: Paused | None = None) -> bool:
        """Go on to the next breakpoint or the end."""
        return self._answer(CONTINUE, paused)

    def stop(self, paused: Paused | None = None) -> bool:
        """Fail the run here: everything it wrote is rolled back."""
        return self._answer(STOP, paused)

    def release_all(self) -> None:
        """Let every paused run go on (the editor closes, or the debugger is switched off)."""
        for paused in list(self.paused):
            self._answer(CONTINUE, paused)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
