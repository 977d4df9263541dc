#!/usr/bin/env python3
"""How much of the gateway's cost is the HTTP stack under it (bench/NOTES.md, "Floors").

Runs the release gateway with the governance-on config of bench/bench.py (virtual key, limits,
budget, SQLite request log) plus a `mock` model that answers in-process, and measures with wrk
(closed loop) and bench/httpclient (paced, 200 requests/s over 10 connections):

  1. GET /health                  - Hummingbird, the gateway's middleware, no auth, no upstream
  2. POST chat, `mock` provider   - everything (auth, governance, JSON, routing, ledger) but the
                                    upstream HTTP call
  3. POST chat, nginx upstream    - the full path, as in RESULTS.md
  4. nginx as a reverse proxy     - the reference

    bench/floor.py --binary .build/release/switchboard --client BIN   (BIN: cc -O2 -pthread -o BIN bench/httpclient.c)

Prints a markdown table. Stops everything it started by PID.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402


def wrk_get(port, path, conns, seconds):
    out = subprocess.run(["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{seconds}s", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--client", required=True)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="switchboard-bench-floor-")
    procs = bench.Processes()
    rows = []
    try:
        upstream_port, proxy_port, port = bench.free_port(), bench.free_port(), bench.free_port()
        procs.start("nginx-upstream", ["nginx", "-c", bench.write_upstream_config(workdir, upstream_port)],
                    os.path.join(workdir, "upstream.log"))
        procs.start("nginx-proxy", ["nginx", "-c", bench.write_proxy_config(workdir, proxy_port, upstream_port)],
                    os.path.join(workdir, "proxy.log"))
        config, _ = bench.switchboard_config(workdir, "floor", port, upstream_port, True)
        with open(config) as handle:
            text = handle.read()
        text = text.replace("models:\n", "  - name: fastmock\n    type: mock\n    reply: " + bench.REPLY + "\nmodels:\n  - name: inproc\n"
                            "    targets: [{ provider: fastmock, model: echo }]\n"
                            "    price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }\n", 1)
        with open(config, "w") as handle:
            handle.write(text)
        gateway = procs.start("switchboard", [args.binary, "serve", "--config", config, "--log-level", "error"],
                              os.path.join(workdir, "gateway.log"))
        if bench.wait_ready(port, "/ready", time.perf_counter(), timeout=60, proc=gateway) is None:
            raise RuntimeError(f"gateway did not start; see {workdir}")
        status, payload = bench.post(port, "/admin/keys", {"name": "floor", "rpm": 100000000, "tpm": 1000000000000,
                                                           "max_budget_usd": 1000000000, "budget_period": "monthly"},
                                     {"authorization": f"Bearer {bench.MASTER_KEY}"})
        if status != 201:
            raise RuntimeError(f"POST /admin/keys answered {status}")
        headers = [f"Authorization: Bearer {json.loads(payload)['key']}"]
        gateway_target = {"name": "gw", "port": port, "path": "/v1/chat/completions", "stream_path": "/v1/chat/completions",
                          "headers": headers, "stream_headers": headers, "model": "bench", "stream_model": "bench"}
        proxy_target = {"name": "proxy", "port": proxy_port, "path": "/v1/chat/completions", "stream_path": "/v1/chat/completions",
                        "headers": [], "stream_headers": [], "model": "bench", "stream_model": "bench"}
        direct_target = {**proxy_target, "name": "direct", "port": upstream_port}

        def closed_loop(target):
            return max(bench.run_wrk(workdir, target, conns, args.seconds)["rps"] for conns in (10, 50))

        def paced(target):
            result = bench.run_client(args.client, workdir, target, 10, 2000, 200, False)
            return result["total_ms"]["p50"]

        direct_p50 = paced(direct_target)
        health = max(wrk_get(port, "/health", conns, args.seconds) for conns in (10, 50))
        rows.append(("GET /health (server + middleware only)", health, None))
        for label, target in (
            ("chat, in-process `mock` provider (no upstream HTTP)", {**gateway_target, "model": "inproc", "name": "inproc"}),
            ("chat, nginx upstream (the full path)", gateway_target),
            ("nginx reverse proxy", proxy_target),
        ):
            rows.append((label, closed_loop(target), paced(target) - direct_p50))
    finally:
        procs.stop_all()
    print(f"direct paced p50: {direct_p50:.3f} ms\n")
    print("| path | peak req/s (wrk, 10/50 conns) | paced p50 added over direct |")
    print("| --- | ---: | ---: |")
    for label, rps, added in rows:
        print(f"| {label} | {rps:,.0f} | {'—' if added is None else f'+{added:.3f} ms'} |")


if __name__ == "__main__":
    main()
