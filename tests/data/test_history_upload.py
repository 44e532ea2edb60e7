"""Uploaded CSV text: any file name (long, with paths or odd characters) becomes a safe, short
stem, so the default source name is valid and nothing is written outside a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.candle_store import CandleStore
from engine.data.history import MarketData, check_source, safe_stem
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from tests.conftest import SHARED_DATA


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("btc.csv", "btc"),
        ("0" * 300 + ".csv", "0" * 40),
        ("../../etc/passwd", "passwd"),
        ("my data (2024).csv", "my_data__2024"),
        ("...csv", "upload"),
        ("", "upload"),
    ],
)
def test_upload_names_become_safe_stems(name: str, stem: str) -> None:
    assert safe_stem(name) == stem
    assert check_source(f"csv:{safe_stem(name)}")


def test_a_long_file_name_imports_under_a_short_source(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    db = make_engine(Settings(data_dir=tmp_path, redis_url=None, database_url=url))
    text = (SHARED_DATA / "GOOG.csv").read_text()
    result = MarketData(CandleStore(db)).import_text(text, "g" * 300 + ".csv", symbol="GOOG")
    assert result.source == "csv:" + "g" * 40 and result.bars == 2148
    db.dispose()
