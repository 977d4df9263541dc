#!/usr/bin/env python3
"""What sharing the rate limits through Redis costs a request (issue #18).

Starts a local redis-server, the nginx fake upstream of bench/bench.py and two release gateways
with the governance-on set-up (virtual key with RPM/TPM limits and a budget, metadata log): one
with the limits in memory, one with `limits.shared: redis`. Then, on the same machine and in one
run:

  - paced latency (bench/httpclient, 200 requests/s over 10 connections), in pairs timed back to
    back (memory, then Redis), five pairs: the p50 and p99 each adds;
  - throughput with wrk, 50 connections, closed loop, for each.

Writes the table between `<!-- limits:start -->` and `<!-- limits:end -->` of bench/RESULTS.md
(unless --no-write) and prints the raw figures as JSON. Stops everything it started by PID.

    bench/limits.py --binary .build/release/switchboard --client BIN   (BIN: cc -O2 -pthread -o BIN bench/httpclient.c)
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def start_redis(procs, workdir):
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = bench.free_port()
    procs.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                os.path.join(workdir, "redis.log"))
    for _ in range(100):
        try:
            out = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True, timeout=2).stdout
            if "PONG" in out:
                return port
        except (OSError, subprocess.TimeoutExpired):
            pass
        time.sleep(0.05)
    raise RuntimeError("redis-server did not answer")


def render(result):
    memory, redis = result["memory"], result["redis"]
    pairs = result["pairs"]
    p50 = statistics.median(pair["redis"]["p50"] - pair["memory"]["p50"] for pair in pairs)
    p99 = statistics.median(pair["redis"]["p99"] - pair["memory"]["p99"] for pair in pairs)
    lines = [
        "<!-- limits:start -->",
        "## Shared rate limits (issue #18)",
        "",
        f"`bench/limits.py`, {result['started']}, release build of {result['commit']}. Two gateways with the governance-on"
        " set-up (virtual key with RPM/TPM limits and a budget, metadata log), proxied to the nginx fake upstream: the"
        " limits in memory, and `limits.shared: redis` with a local `redis-server` (loopback). Paced: 200 requests/s over"
        " 10 connections, five pairs timed back to back (memory, then Redis); the added figures are the medians over the pairs.",
        "",
        "| pair | memory p50 ms | Redis p50 ms | memory p99 ms | Redis p99 ms |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    for index, pair in enumerate(pairs):
        lines.append(f"| {index + 1} | {pair['memory']['p50']:.3f} | {pair['redis']['p50']:.3f} | {pair['memory']['p99']:.3f} | {pair['redis']['p99']:.3f} |")
    verdict = "**met**" if p50 <= 0.2 else "**missed**"
    lines += [
        "",
        f"Shared limiter p50 added: **{p50:+.3f} ms** (target ≤ 0.2 ms: {verdict}); p99 added {p99:+.3f} ms.",
        "",
        "| wrk, 50 connections | req/s | errors |",
        "| --- | ---: | ---: |",
        f"| limits in memory | {memory['wrk']['rps']:,.0f} | {memory['wrk']['errors']} |",
        f"| limits in Redis | {redis['wrk']['rps']:,.0f} | {redis['wrk']['errors']} |",
        "",
        f"Throughput with the shared limiter: {redis['wrk']['rps'] / memory['wrk']['rps']:.2f} of the in-memory one. Each"
        " admission is one `EVALSHA` round trip (every bucket of the call checked and taken at once); the settlement of"
        " the real token count is a second script, queued off the request path.",
        "<!-- limits:end -->",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=4000, help="paced requests per measurement")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="switchboard-limits-")
    procs = bench.Processes()
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = {"started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), "commit": commit, "pairs": []}
    try:
        redis_port = start_redis(procs, workdir)
        upstream_port = bench.free_port()
        procs.start("nginx-upstream", ["nginx", "-c", bench.write_upstream_config(workdir, upstream_port)],
                    os.path.join(workdir, "nginx.log"))
        targets = {
            "memory": bench.start_switchboard(args, procs, workdir, "limits-memory", upstream_port, True),
            "redis": bench.start_switchboard(args, procs, workdir, "limits-redis", upstream_port, True, limits_extra=(
                "  shared: redis", f"  redis_url: redis://127.0.0.1:{redis_port}", "  redis_failure: fail_closed",
            )),
        }
        for name, target in targets.items():
            if not target.get("virtual_key"):
                raise RuntimeError(f"{name}: no virtual key, so no limits to measure")
            bench.check_target(target, 20)
            result[name] = {}
        for index in range(args.pairs):
            pair = {}
            for name, target in targets.items():
                bench.log(f"pair {index + 1} of {args.pairs}: {name}")
                paced = bench.run_client(args.client, workdir, target, 10, args.requests, 200, stream=False)
                if paced["ok"] != args.requests:
                    raise RuntimeError(f"{name}: {paced['requests'] - paced['ok']} paced requests failed")
                pair[name] = {"p50": paced["total_ms"]["p50"], "p99": paced["total_ms"]["p99"]}
            result["pairs"].append(pair)
        for name, target in targets.items():
            bench.log(f"{name}: wrk 50 connections")
            result[name]["wrk"] = bench.run_wrk(workdir, target, 50, args.seconds)
        text = render(result)
        print(json.dumps(result, indent=1))
        print(text)
        if not args.no_write:
            bench.write_section("limits", text)
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
