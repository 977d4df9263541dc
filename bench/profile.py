#!/usr/bin/env python3
"""Where the gateway spends its CPU per request (bench/NOTES.md).

Starts the nginx fake upstream of bench/bench.py and the release gateway, warms up, then sends a
fixed number of requests with bench/httpclient while `perf record -e cpu-clock -g` samples the
gateway. Prints the gateway's CPU time per request (utime + stime from /proc/PID/stat) and the
functions with the largest inclusive ("children") and exclusive ("self") shares of the samples.
Stops everything it started by PID.

perf's software clock is used because this machine has no hardware counters
(`perf stat -e instructions true` says "not supported") and valgrind 3.19 (Debian 12) dies
with an internal SIGSEGV on the release binary, even with `--tool=none`.

    bench/profile.py --binary .build/release/switchboard --client /tmp/httpclient --mode json --governance
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def perf_report(data, top, children):
    argv = ["perf", "report", "-i", data, "--stdio", "-g", "none", "--percent-limit", "0.5", "--sort", "symbol",
            "--children" if children else "--no-children"]
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    demangled = subprocess.run(["swift", "demangle", "--simplified"], input=out, capture_output=True, text=True).stdout or out
    rows = []
    for line in demangled.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[.\]\s+(.*)", line) if children else re.match(r"\s*([\d.]+)%\s+\[.\]\s+(.*)", line)
        if not match:
            continue
        if children:
            rows.append((float(match.group(1)), float(match.group(2)), match.group(3).strip()[:160]))
        else:
            rows.append((float(match.group(1)), match.group(2).strip()[:160]))
    return rows[:top]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--mode", choices=["json", "stream"], default="json")
    parser.add_argument("--governance", action="store_true", help="master key, limits and request log on")
    parser.add_argument("--cache", action="store_true", help="the response cache on: after the checks every request is a hit")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--conns", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0, help="requests/s in total; 0 = closed loop")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", help="keep perf.data here")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="switchboard-profile-")
    procs = bench.Processes()
    try:
        upstream_port, port = bench.free_port(), bench.free_port()
        upstream = procs.start("nginx-upstream", ["nginx", "-c", bench.write_upstream_config(workdir, upstream_port)],
                               os.path.join(workdir, "nginx.log"))
        config, _ = bench.switchboard_config(workdir, "profile", port, upstream_port, args.governance, args.cache)
        gateway = procs.start("switchboard", [args.binary, "serve", "--config", config, "--log-level", "error"],
                              os.path.join(workdir, "gateway.log"))
        if bench.wait_ready(port, "/ready", time.perf_counter(), timeout=60, proc=gateway) is None:
            raise RuntimeError(f"gateway did not start; see {workdir}")
        target = {
            "name": "profile", "port": port, "path": "/v1/chat/completions", "stream_path": "/v1/chat/completions",
            "model": "bench", "stream_model": "bench",
            "headers": [f"Authorization: Bearer {bench.MASTER_KEY}"] if args.governance else [],
        }
        target["stream_headers"] = target["headers"]
        if args.cache:
            target["also_streamed"] = (bench.REPLY,)  # a stream answered from the non-streamed entry
        stream = args.mode == "stream"
        bench.check_target(target, 5)
        bench.run_client(args.client, workdir, target, 10, 2000, 0, stream)  # warm-up
        data = os.path.join(workdir, "perf.data")
        perf = procs.start("perf", ["perf", "record", "-e", "cpu-clock", "-F", "2999", "-g", "-p", str(gateway.pid), "-o", data],
                           os.path.join(workdir, "perf.log"))
        time.sleep(1)
        before = cpu_seconds(gateway.pid)
        result = bench.run_client(args.client, workdir, target, args.conns, args.requests, args.rate, stream, warmup=0)
        time.sleep(0.5)  # the request log writer's batch lands inside the window
        used = cpu_seconds(gateway.pid) - before
        perf.send_signal(signal.SIGINT)
        perf.wait(60)
        procs.stop(perf)
        report = {
            "mode": args.mode, "governance": args.governance, "cache": args.cache, "requests": result["ok"], "rate": args.rate,
            "conns": args.conns, "errors": result["transport_errors"] + result["bad_status"] + result["bad_body"],
            "gateway_cpu_seconds": round(used, 3), "cpu_us_per_request": round(used / max(1, result["ok"]) * 1e6, 1),
            "latency_ms": result["total_ms"],
            "children": perf_report(data, args.top, True), "self": perf_report(data, args.top, False),
        }
        if args.out:
            shutil.copy(data, args.out)
        print(json.dumps(report, indent=1))
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
