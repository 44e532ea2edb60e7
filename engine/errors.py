"""One exception hierarchy for the whole engine.

Every class says what the caller should do with it. Messages are written for the person who
can fix the problem: what was wrong, where, and how to fix it.
"""

from __future__ import annotations


class TradeSimError(Exception):
    """Base class. Callers that talk to a user show ``str(error)`` and carry on."""


class DataError(TradeSimError):
    """Market data could not be read or is inconsistent.

    Show the message (it names the file, line and column where known); do not retry with the
    same input. Fix the file or the arguments and try again.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(f"{where}{message}")
        self.message = message


class ConfigError(TradeSimError):
    """An argument, parameter or setting is invalid. Show the message; ask for a new value."""


class StrategyError(TradeSimError):
    """A Lua strategy failed to load, raised an error, broke the contract or hit a limit.

    Only that strategy is affected: stop it (a runner goes to Error status), show
    ``file:line: message`` and let every other strategy keep running.
    """

    def __init__(self, file: str, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = message
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")

    def to_dict(self) -> dict[str, object]:
        """JSON-able form for APIs and events."""
        return {"file": self.file, "line": self.line, "message": self.message}


class StrategyLimitError(StrategyError):
    """The strategy exceeded its instruction budget or memory cap. Same handling as its base."""


class InvalidTransitionError(TradeSimError):
    """A state transition that the transition table does not allow was attempted.

    This is a bug in the engine, not in a strategy: report it; the runner is stopped.
    """


class BacktestCancelled(TradeSimError):
    """The backtest was cancelled by its caller. Nothing to show beyond 'cancelled'."""


class EngineUnavailable(TradeSimError):
    """The engine process did not answer (no heartbeat, or no reply in time).

    Show "engine offline / not responding" (HTTP 503); retry later. Nothing was changed.
    """


class CommandError(TradeSimError):
    """The engine refused a command. ``code`` is one of validation, not_found, conflict,
    strategy_error; show ``message`` (and ``details``) to the user and let them fix the input.
    """

    def __init__(self, code: str, message: str, details: object = None) -> None:
        self.code = code
        self.message = message
        self.details = details
        super().__init__(message)
