"""Chart tab figure: 1,000 candles + 3 indicators + signal markers (target: build and render
in < 1 s).

Three numbers, best and median of N runs: building the figure dict (``chart_figure``: the
indicators computed, traces and layout), encoding it as Dash does (``to_json_plotly``), and
drawing it in headless Chromium (``Plotly.newPlot`` of that JSON, timed inside the page with
``performance.now()``; the plotly.js bundled with the ``plotly`` package). The live poll's
no-change path is timed too (it sends nothing). Run: ``.venv/bin/python -m
benchmarks.bench_chart``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import plotly
from plotly.io.json import to_json_plotly

from components.chart_tab import chart_figure, tail_update
from engine.data.simulated import generate_history
from engine.data.timeframes import Timeframe
from engine.setups.signals import compute_signals
from engine.setups.spec import parse_indicator
from engine.strategy.instance import StrategySource

ROOT = Path(__file__).resolve().parents[1]
INDICATORS = ("sma_20", "bollinger_20_2", "rsi_14")
PAGE = """<!doctype html><html><body><div id="g" style="width:1400px;height:800px"></div>
<script src="{plotly}"></script><script>
const figure = {figure};
const t0 = performance.now();
Plotly.newPlot("g", figure.data, figure.layout).then(() => {{
  document.title = "rendered " + (performance.now() - t0).toFixed(1);
}});
</script></body></html>"""


def _stats(values: list[float]) -> str:
    return f"best {min(values) * 1000:.1f} ms, median {statistics.median(values) * 1000:.1f} ms"


def browser_render(text: str, runs: int) -> list[float] | None:
    """Seconds ``Plotly.newPlot`` took in headless Chromium, per run (None without it)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    bundle = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "chart.html"
        page.write_text(PAGE.format(plotly=bundle.as_uri(), figure=text))
        for _ in range(runs):
            done = subprocess.run(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--allow-file-access-from-files",
                    "--virtual-time-budget=20000",
                    "--dump-dom",
                    page.as_uri(),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            found = re.search(r"<title>rendered ([0-9.]+)</title>", done.stdout)
            if found:
                out.append(float(found[1]) / 1000)
    return out or None


def main() -> None:
    """Print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    series = generate_history("BTCUSDT", Timeframe.H1, 1000, seed=7)
    calls = [parse_indicator(t) for t in INDICATORS]
    source = StrategySource.from_file(ROOT / "lua-strategies/examples/ema_crossover.lua")
    signals = [
        {**row, "id": n, "symbol": "BTCUSDT", "timeframe": "1h", "setup_id": 1}
        for n, row in enumerate(compute_signals(source, series, calls), start=1)
    ]
    build, encode = [], []
    text = ""
    for _ in range(args.runs):
        t0 = time.perf_counter()
        figure, trace_map = chart_figure(series, calls, signals)
        t1 = time.perf_counter()
        text = to_json_plotly(figure)
        t2 = time.perf_counter()
        build.append(t1 - t0)
        encode.append(t2 - t1)
    poll = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        tail_update(series, calls, trace_map, len(series) - 1)
        poll.append(time.perf_counter() - t0)
    print(
        f"chart tab: {len(series)} candles, {len(calls)} indicators, {len(signals)} signals, "
        f"{len(text) / 1024:.0f} KiB of JSON"
    )
    print(f"  build figure: {_stats(build)}")
    print(f"  encode JSON:  {_stats(encode)}")
    print(f"  one new bar (tail update): {_stats(poll)}")
    rendered = browser_render(text, max(1, args.runs // 2))
    if rendered is None:
        print("  browser render: chromium not found, skipped")
        return
    print(f"  browser render (Plotly.newPlot, headless Chromium): {_stats(rendered)}")
    total = min(build) + min(encode) + min(rendered)
    print(f"  build + encode + render: {total * 1000:.0f} ms (target < 1000 ms)")


if __name__ == "__main__":
    main()
