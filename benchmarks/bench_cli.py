"""CLI start-up and wall time: ``tradesim backtest`` of the EMA crossover on 525,600 1-minute
bars from a CSV, process start to exit, next to the run's own ``timing.total_s``; and
``tradesim --help``.

With ``--baseline REF`` the same commands also run on another commit (checked out into a
temporary git worktree and run with ``PYTHONPATH`` pointing at it, in this venv), interleaved
with the current code so both see the same machine load.
Run: ``make bench`` (or ``python -m benchmarks.bench_cli --runs 5 --baseline 1aa11c9``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRATEGY = "lua-strategies/examples/ema_crossover.lua"


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(tree: Path, csv_path: Path, out_dir: Path, env: dict[str, str]) -> dict[str, float]:
    """One round on ``tree``: backtest wall + its total_s, and ``--help`` wall."""
    report = out_dir / "result.json"
    # the console script's code path: `python -c` calling the entry point the script calls
    entry = (
        "import sys; from engine import cli; "
        "sys.argv[0] = 'tradesim'; getattr(cli, 'console_main', None) and cli.console_main() "
        "or sys.exit(cli.main())"
    )
    wall = _timed(
        [
            sys.executable,
            "-c",
            entry,
            "backtest",
            STRATEGY,
            "--data",
            str(csv_path),
            "--json",
            str(report),
        ],
        tree,
        env,
    )
    total = json.loads(report.read_text())["timing"]["total_s"]
    help_wall = _timed([sys.executable, "-c", entry, "--help"], tree, env)
    return {"wall_s": wall, "total_s": total, "help_s": help_wall}


def _summary(rounds: list[dict[str, float]]) -> str:
    parts = []
    for key in ("wall_s", "total_s", "help_s"):
        values = [r[key] for r in rounds]
        parts.append(f"{key} best {min(values):.3f} median {statistics.median(values):.3f}")
    return "  ".join(parts)


def main() -> None:
    """Print best and median of each figure, for this tree and the optional baseline."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bars", type=int, default=525_600)
    parser.add_argument("--baseline", help="git ref to compare with (e.g. 1aa11c9)")
    args = parser.parse_args()
    from engine.data.csv_io import write_csv
    from engine.data.simulated import generate_history

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        csv_path = out / "btc-1m.csv"
        write_csv(generate_history("BTCUSDT", "1m", args.bars, seed=1), csv_path)
        trees = {"current": ROOT}
        if args.baseline:
            base = out / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(base), args.baseline],
                cwd=ROOT,
                check=True,
            )
            trees["baseline"] = base
        try:
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
            for _ in range(args.runs):
                for name, tree in trees.items():
                    env = dict(os.environ, PYTHONPATH=str(tree))
                    rounds[name].append(measure(tree, csv_path, out, env))
            print(
                f"tradesim backtest, EMA crossover, {args.bars:,} 1m bars from CSV "
                f"({args.runs} rounds, interleaved):"
            )
            for name, results in rounds.items():
                print(f"  {name:9s} {_summary(results)}")
        finally:
            if "baseline" in trees:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(trees["baseline"])],
                    cwd=ROOT,
                    check=False,
                )


if __name__ == "__main__":
    main()
