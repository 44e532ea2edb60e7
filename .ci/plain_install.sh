#!/usr/bin/env bash
# A plain `pip install .` (no extras) in a fresh venv runs the CLI and the whole platform:
# backtests on a real CSV and on simulated data, data generation, and `tradesim up` until
# /health says web, redis and engine are ok. Usage: .ci/plain_install.sh [VENV_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d)
VENV=${1:-$WORK/venv}
trap 'kill -TERM "$UP_PID" 2>/dev/null || true; wait "$UP_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
UP_PID=

python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "$ROOT"
TS="$VENV/bin/tradesim"
cd "$WORK"  # not the checkout: everything must come from the installed package

"$TS" backtest "$ROOT/lua-strategies/examples/ema_crossover.lua" --data "$ROOT/../shared/data/GOOG.csv" \
    --json "$WORK/goog.json"
"$TS" backtest "$ROOT/lua-strategies/examples/rsi_mean_reversion.lua" --symbol ETHUSDT \
    --timeframe 15m --bars 5000
"$TS" data generate --symbol BTCUSDT --timeframe 1m --bars 20000 --seed 2 --out "$WORK/btc.csv"
"$TS" data info "$WORK/btc.csv"
"$VENV/bin/python" - "$WORK/goog.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert result["bars"] > 1000 and result["trades"], "GOOG backtest produced no trades"
print(f"GOOG: {result['bars']} bars, {len(result['trades'])} trades")
PY

PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TRADESIM_DATA_DIR="$WORK/data" "$TS" up --port "$PORT" > "$WORK/up.log" 2>&1 &
UP_PID=$!
for _ in $(seq 1 120); do
    if ! kill -0 "$UP_PID" 2>/dev/null; then
        echo "tradesim up exited early; log:" >&2
        cat "$WORK/up.log" "$WORK"/data/logs/*.log >&2 || true
        exit 1
    fi
    if "$VENV/bin/python" - "$PORT" <<'PY' 2>/dev/null
import json, sys, urllib.request
body = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2))
checks = body.get("data", body)
ok = all(str(checks.get(k)).lower() in ("ok", "true") for k in ("web", "redis", "engine"))
sys.exit(0 if ok else 1)
PY
    then
        # the shipped assets and examples are served by the installed package
        "$VENV/bin/python" - "$PORT" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
css = urllib.request.urlopen(f"{base}/assets/02-app.css", timeout=5)
assert css.status == 200, "assets not served"
names = [s["name"] for s in json.load(urllib.request.urlopen(f"{base}/api/strategies"))["data"]]
assert "ema_crossover" in names, f"examples missing: {names}"
print(f"platform up: /health ok, assets served, {len(names)} strategies listed")
PY
        kill -TERM "$UP_PID"; wait "$UP_PID" || true; UP_PID=
        echo "plain install: OK"
        exit 0
    fi
    sleep 1
done
echo "tradesim up did not become healthy; log:" >&2
cat "$WORK/up.log" >&2
exit 1
