#!/usr/bin/env python3
"""Failover soak: many requests through a route whose targets fail at random, with one healthy fallback.

Starts the gateway itself (on a free loopback port, with its own SQLite file), sends the requests
with a fixed number of client threads over keep-alive connections, and reports client-visible
failures and the latency failover adds compared with a route that never fails. Bounded in count
and time; stops the gateway by PID when done.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CONFIG = """
server:
  host: 127.0.0.1
  port: {port}
  master_key: sk-soak
storage:
  url: sqlite://{db}
providers:
  - {{ name: flaky-a, type: mock, failure_rate: {rate}, failure_status: 503, latency_ms: {latency} }}
  - {{ name: flaky-b, type: mock, failure_rate: {rate}, failure_status: 500, latency_ms: {latency} }}
  - {{ name: healthy, type: mock, latency_ms: {latency} }}
models:
  - name: soak
    strategy: weighted
    targets: [{{ provider: flaky-a, model: m }}, {{ provider: flaky-b, model: m }}]
    retries: 1
    backoff_ms: 2
    max_backoff_ms: 20
    fallbacks: [steady]
  - name: steady
    targets: [{{ provider: healthy, model: m }}]
  - name: baseline
    targets: [{{ provider: healthy, model: m }}]
reliability:
  # Relaxed so the flaky targets stay in rotation and every request meets the 30% failures;
  # with the default breaker they are switched off within a few hundred calls.
  breaker: {{ consecutive_failures: {breaker_failures}, error_rate: 0.95, min_requests: 1000 }}
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port, deadline):
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.1)
    return False


def run(port, model, total, threads, stream):
    body = json.dumps({"model": model, "stream": stream, "messages": [{"role": "user", "content": "soak"}]})
    headers = {"content-type": "application/json", "authorization": "Bearer sk-soak"}
    latencies, statuses, attempts, lock = [], {}, {}, threading.Lock()
    counter = iter(range(total))
    counter_lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with counter_lock:
                if next(counter, None) is None:
                    return
            start = time.perf_counter()
            try:
                conn.request("POST", "/v1/chat/completions", body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                if status == 200 and stream and b"data: [DONE]" not in payload:
                    status = "truncated"
                tries = response.getheader("x-switchboard-attempts", "?")
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, tries = "transport", "?"
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
                attempts[tries] = attempts.get(tries, 0) + 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": total,
        "ok": statuses.get(200, 0),
        "failures": total - statuses.get(200, 0),
        "statuses": {str(k): v for k, v in sorted(statuses.items(), key=lambda item: str(item[0]))},
        "attempts": dict(sorted(attempts.items())),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "mean_ms": round(statistics.fmean(latencies), 2),
        "rps": round(total / wall, 1),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--latency-ms", type=int, default=2)
    parser.add_argument("--json", help="write the results here as JSON")
    parser.add_argument("--breaker-failures", type=int, default=1000, help="consecutive failures that open a breaker")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="switchboard-soak-")
    port = free_port()
    config_path = os.path.join(workdir, "soak.yaml")
    with open(config_path, "w") as handle:
        handle.write(CONFIG.format(port=port, db=os.path.join(workdir, "soak.db"), rate=args.failure_rate, latency=args.latency_ms, breaker_failures=args.breaker_failures))
    log = open(os.path.join(workdir, "gateway.log"), "w")
    gateway = subprocess.Popen([args.binary, "serve", "--config", config_path, "--log-level", "error"], stdout=log, stderr=log)
    try:
        if not wait_ready(port, time.time() + 60):
            print("gateway did not become ready; log in", log.name, file=sys.stderr)
            return 2
        # Warm up connections and code paths.
        run(port, "baseline", 200, args.threads, False)
        results = {
            "baseline": run(port, "baseline", args.requests, args.threads, False),
            "failover": run(port, "soak", args.requests, args.threads, False),
            "failover_stream": run(port, "soak", args.requests // 2, args.threads, True),
        }
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/metrics", headers={"authorization": "Bearer sk-soak"})
        metrics = conn.getresponse().read().decode()
        results["fallbacks_total"] = sum(
            float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith("fallbacks_total{")
        )
        results["retries_total"] = sum(
            float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith("upstream_retries_total{")
        )
        results["added_p50_ms"] = round(results["failover"]["p50_ms"] - results["baseline"]["p50_ms"], 2)
        results["added_p99_ms"] = round(results["failover"]["p99_ms"] - results["baseline"]["p99_ms"], 2)
        results["config"] = {"requests": args.requests, "threads": args.threads, "failure_rate": args.failure_rate, "mock_latency_ms": args.latency_ms, "breaker_failures": args.breaker_failures}
        print(json.dumps(results, indent=2))
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(results, handle, indent=2)
        visible = results["failover"]["failures"] + results["failover_stream"]["failures"]
        return 0 if visible == 0 else 1
    finally:
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gateway.kill()
        log.close()


if __name__ == "__main__":
    sys.exit(main())
