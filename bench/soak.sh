#!/usr/bin/env bash
# Failover soak: builds the gateway (release), runs bench/soak.py, and records the result in
# bench/RESULTS.md. Usage: bench/soak.sh [--requests N] [--threads N] [--failure-rate R]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product switchboard >/dev/null
binary="$(swift build -c release --show-bin-path)/switchboard"
result_json="$(mktemp)"
status=0
python3 bench/soak.py --binary "$binary" --json "$result_json" "$@" || status=$?
python3 bench/write_soak_results.py "$result_json" bench/RESULTS.md
rm -f "$result_json"
exit $status
