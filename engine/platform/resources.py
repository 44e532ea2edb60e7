"""Where the shipped files are: the source tree when running from a checkout, else the data
packages a plain ``pip install .`` puts in site-packages (see setup.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: The checkout this module lives in, when it is one (site-packages otherwise).
SOURCE_ROOT = Path(__file__).resolve().parents[2]

_PACKAGES = {"assets": "tradesim_assets", "lua-strategies": "tradesim_strategies"}


def in_source_tree() -> bool:
    """True when running from a checkout (``assets/`` and ``lua-strategies/`` beside
    ``engine/``; in site-packages they are installed under other names)."""
    return all((SOURCE_ROOT / name).is_dir() for name in _PACKAGES)


def shipped_dir(name: str) -> Path:
    """The folder ``assets`` or ``lua-strategies``: in the checkout, or the installed copy."""
    if in_source_tree():
        return SOURCE_ROOT / name
    spec = importlib.util.find_spec(_PACKAGES[name])
    if spec is None or not spec.submodule_search_locations:
        return SOURCE_ROOT / name  # not installed either: let the caller report the missing path
    return Path(next(iter(spec.submodule_search_locations)))
