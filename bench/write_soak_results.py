#!/usr/bin/env python3
"""Writes a soak result (JSON from soak.py) into the "Failover soak" section of bench/RESULTS.md."""

import json
import os
import platform
import subprocess
import sys

START = "<!-- soak:start -->"
END = "<!-- soak:end -->"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main():
    result_path, results_md = sys.argv[1], sys.argv[2]
    with open(result_path) as handle:
        result = json.load(handle)
    config = result["config"]
    rows = []
    for name in ("baseline", "failover", "failover_stream"):
        run = result[name]
        rows.append(
            f"| {name} | {run['requests']} | {run['ok']} | {run['failures']} | {run['p50_ms']} | {run['p99_ms']} | {run['rps']} | {run['attempts']} |"
        )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    section = "\n".join([
        START,
        "## Failover soak",
        "",
        f"`bench/soak.sh --requests {config['requests']} --threads {config['threads']} --failure-rate {config['failure_rate']}`"
        f" — commit {commit}, {os.cpu_count()} cores ({cpu_model()}), release build, loopback.",
        "",
        f"Route `soak`: two mock targets failing at random ({int(config['failure_rate'] * 100)}% each, 503/500), `weighted`,"
        f" `retries: 1`, fallback to one healthy mock; every mock answers after {config['mock_latency_ms']} ms."
        f" Breakers relaxed to {config['breaker_failures']} consecutive failures so the flaky targets stay in rotation."
        " `baseline` is the healthy mock alone.",
        "",
        "| run | requests | 200 | client-visible failures | p50 ms | p99 ms | req/s | X-Switchboard-Attempts |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Client-visible failures: **{result['failover']['failures'] + result['failover_stream']['failures']}** (goal: 0)."
        f" Added latency of failover over the healthy route: p50 {result['added_p50_ms']} ms, p99 {result['added_p99_ms']} ms"
        f" (mostly the mock's own {config['mock_latency_ms']} ms per extra attempt plus backoff)."
        f" Retries: {int(result['retries_total'])}, fallbacks: {int(result['fallbacks_total'])}.",
        END,
    ])
    text = ""
    if os.path.exists(results_md):
        with open(results_md) as handle:
            text = handle.read()
    if START in text and END in text:
        before = text.split(START)[0]
        after = text.split(END, 1)[1]
        text = before + section + after
    else:
        if not text:
            text = "# Benchmark results\n\nEvery figure here comes from a script under `bench/`, run on the machine named with it.\n\n"
        text = text.rstrip() + "\n\n" + section + "\n"
    with open(results_md, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
