"""Find a strategy file from what a user typed: a name or a path relative to the strategy dir."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ConfigError

SEARCH_DIRS = ("user", "examples")


def resolve_strategy(strategy_dir: Path, ref: str) -> Path:
    """``"ema_crossover"``, ``"examples/ema_crossover.lua"`` or ``"user/mine.lua"`` -> the file.

    Only files inside ``strategy_dir`` are accepted (no ``..``, no absolute paths); a bare name
    is looked up in ``user/`` first, then ``examples/``. Raises ConfigError saying what exists.
    """
    root = strategy_dir.resolve()
    text = ref.strip()
    if not text:
        raise ConfigError("strategy is empty: give a name like 'ema_crossover'")
    candidates: list[Path] = []
    if "/" in text or text.endswith(".lua"):
        relative = text if text.endswith(".lua") else f"{text}.lua"
        candidates.append(root / relative)
    else:
        candidates.extend(root / folder / f"{text}.lua" for folder in SEARCH_DIRS)
    for candidate in candidates:
        path = candidate.resolve()
        if not path.is_relative_to(root):
            raise ConfigError(f"strategy '{ref}' is outside the strategy folder")
        if path.is_file():
            return path
    known = sorted(p.stem for folder in SEARCH_DIRS for p in (root / folder).glob("*.lua"))
    raise ConfigError(f"unknown strategy '{ref}'; available: {', '.join(known) or 'none'}")
