"""The strategy state machine as data: states, triggers and one transition table.

The table is the single source of truth. The Lua kernel (``engine/strategy/kernel.lua``), which runs
the per-bar loop for speed, receives it at start-up as a plain table and refuses any transition
that is not in it; :func:`next_state` applies the same table on the Python side (used by the
live runner for manual commands and by tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from engine.errors import InvalidTransitionError


class State(StrEnum):
    """Where a strategy is in its cycle (DESIGN.md, "State machine and fills")."""

    IDLE = "Idle"
    ANALYZING = "Analyzing"
    IN_POSITION = "InPosition"


class Trigger(StrEnum):
    """What caused a transition. The exit triggers double as the trade's exit reason."""

    OPPORTUNITY = "opportunity"
    ENTER = "enter"
    CANCEL = "cancel_analysis"
    TIMEOUT = "analysis_timeout"
    SIGNAL = "signal"
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    END_OF_DATA = "end_of_data"
    MANUAL = "manual"


TRANSITIONS: Mapping[tuple[State, Trigger], State] = MappingProxyType(
    {
        (State.IDLE, Trigger.OPPORTUNITY): State.ANALYZING,
        (State.IDLE, Trigger.ENTER): State.IN_POSITION,
        (State.ANALYZING, Trigger.ENTER): State.IN_POSITION,
        (State.ANALYZING, Trigger.CANCEL): State.IDLE,
        (State.ANALYZING, Trigger.TIMEOUT): State.IDLE,
        (State.ANALYZING, Trigger.MANUAL): State.IDLE,
        (State.IN_POSITION, Trigger.SIGNAL): State.IDLE,
        (State.IN_POSITION, Trigger.STOP_LOSS): State.IDLE,
        (State.IN_POSITION, Trigger.TAKE_PROFIT): State.IDLE,
        (State.IN_POSITION, Trigger.END_OF_DATA): State.IDLE,
        (State.IN_POSITION, Trigger.MANUAL): State.IDLE,
    }
)

#: The function the kernel calls for the state a bar starts in.
STATE_FUNCTIONS: Mapping[State, str] = MappingProxyType(
    {
        State.IDLE: "detect_opportunity",
        State.ANALYZING: "filter_commitment",
        State.IN_POSITION: "manage_position",
    }
)


def next_state(state: State, trigger: Trigger) -> State:
    """Return the state that ``trigger`` leads to from ``state``.

    Raises :class:`InvalidTransitionError` when the table has no such transition.
    """
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        raise InvalidTransitionError(
            f"no transition from {state.value} on {trigger.value!r}"
        ) from None


def transition_table_for_lua() -> dict[str, dict[str, str]]:
    """The table as ``{from: {trigger: to}}`` with plain strings, for the Lua kernel."""
    table: dict[str, dict[str, str]] = {}
    for (state, trigger), target in TRANSITIONS.items():
        table.setdefault(state.value, {})[trigger.value] = target.value
    return table


class Transition(NamedTuple):
    """One recorded transition: bar index and time, from/to, trigger and reason (a NamedTuple:
    immutable and cheap to create)."""

    bar: int
    time: int
    from_state: str
    to_state: str
    trigger: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        """JSON-able form (keys ``from``/``to`` as in the event stream)."""
        return {
            "bar": self.bar,
            "time": self.time,
            "from": self.from_state,
            "to": self.to_state,
            "trigger": self.trigger,
            "reason": self.reason,
        }
