#!/usr/bin/env bash
# The gateway benchmark (issue #6): Switchboard against nginx (direct and as a reverse proxy) and,
# with --litellm, LiteLLM — one run on this machine, all on loopback. Writes the
# "Gateway benchmark" section of bench/RESULTS.md (between <!-- bench:start/end --> markers).
#
# Usage: bench/run.sh [--quick] [--litellm] [--cache] [--streams N] [--only direct,nginx-proxy,switchboard-gov,...]
#   --quick     3 s per load point instead of 10, fewer requests (a smoke test; still writes RESULTS.md)
#   --litellm   add LiteLLM's proxy (one and two workers, no database), installed with pip into bench/.venv
#   --streams N concurrent open streams for the memory test (default 2000)
#   --cache     add the response-cache target (every request a hit) and its figures
#   --no-write  leave RESULTS.md alone (the raw JSON is kept; its path is printed)
set -euo pipefail
cd "$(dirname "$0")/.."

quick="" litellm=0 write=1 extra=() cacheflag=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick="--quick" ;;
        --cache) extra+=("--cache"); cacheflag=" --cache" ;;
        --litellm) litellm=1 ;;
        --no-write) write=0 ;;
        --streams|--only) extra+=("$1" "$2"); shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

# Tools: nginx (fake upstream and reverse proxy) and wrk from Debian; a C compiler for the client.
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
command -v cc >/dev/null || missing+=(gcc)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Many sockets: 2,000 open streams are 4,000+ descriptors between client and gateway.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

swift build -c release --product switchboard >/dev/null
binary="$(swift build -c release --show-bin-path)/switchboard"

workdir="$(mktemp -d /tmp/switchboard-bench-run.XXXXXX)"
cc -O2 -pthread -o "$workdir/httpclient" bench/httpclient.c

args=(--binary "$binary" --client "$workdir/httpclient" --json "$workdir/results.json" ${quick:+"$quick"} ${extra[@]+"${extra[@]}"})
if [ "$litellm" = 1 ]; then
    if [ ! -x bench/.venv/bin/litellm ]; then
        python3 -m venv bench/.venv
        bench/.venv/bin/pip install -q 'litellm[proxy]'
    fi
    args+=(--litellm-bin bench/.venv/bin/litellm)
fi

status=0
python3 bench/bench.py "${args[@]}" || status=$?
command_line="bench/run.sh${quick:+ --quick}$([ "$litellm" = 1 ] && echo ' --litellm' || true)${cacheflag}"
if [ -f "$workdir/results.json" ] && [ "$write" = 1 ]; then
    python3 bench/write_bench_results.py "$workdir/results.json" bench/RESULTS.md "$command_line"
    echo "bench/RESULTS.md updated; raw results in $workdir/results.json"
else
    echo "raw results in $workdir/results.json"
fi
exit $status
