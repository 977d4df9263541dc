#!/usr/bin/env python3
"""Renders bench/bench.py's JSON into the "Gateway benchmark" section of bench/RESULTS.md.

Only the text between `<!-- bench:start -->` and `<!-- bench:end -->` is replaced (the section is
appended if the markers are missing); every other section, the soak's among them, stays as it is.

    bench/write_bench_results.py RESULTS.json bench/RESULTS.md "bench/run.sh --litellm"
"""

import json
import os
import re
import statistics
import subprocess
import sys

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"

# DESIGN.md §7
BUDGET = {
    "throughput_ratio": 0.70,
    "p50_added_ms": 0.2,
    "p99_added_ms": 1.0,
    "ttfb_added_ms": 0.5,
    "rss_idle_mb": 40,
    "rss_streams_mb": 250,
}


def fmt(value, digits=2):
    if value is None:
        return "—"
    if isinstance(value, (int,)) or (isinstance(value, float) and value >= 1000):
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def signed(value, digits=3):
    return "—" if value is None else f"{value:+.{digits}f}"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def render(results, command):
    targets = {t["name"]: t for t in results["targets"]}
    direct = targets.get("direct")
    proxy = targets.get("nginx-proxy")
    gov = targets.get("switchboard-gov")
    bare = targets.get("switchboard-bare")
    lite = [targets[n] for n in ("litellm-1w", "litellm-2w") if n in targets]
    machine = results["machine"]
    plan = results["plan"]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    out = [START, "## Gateway benchmark (issue #6)", ""]
    out.append(
        f"`{command}` — commit {commit}, {results['started']}. Machine: `nproc` = {machine['nproc']},"
        f" CPU {machine['cpu']}, {machine['memory_gb']} GiB, Linux {machine['kernel']}; {machine['nginx']}; {machine['wrk']};"
        f" {machine['swift']}. Load average when the run began: {' '.join(machine['loadavg_at_start'])}."
        " Everything on loopback, in one run; load generator, upstream and the server under test share the 2 cores."
    )
    if "error" in results:
        out += ["", f"**The run failed: {results['error']}** — the figures below are what was measured before it."]
    out += [
        "",
        "The fake upstream is nginx answering a static `chat.completion` (349 bytes) and a static SSE answer"
        " (20 content chunks, a usage chunk, `[DONE]`; 4.8 KB). Before timing, every target answered"
        f" {plan['check']} non-streamed and {max(1, plan['check'] // 2)} streamed requests, each checked to be a 200"
        " with the expected content (the streamed chunks joined) — the run stops otherwise.",
        "",
        "### Throughput and latency under load (wrk, non-streamed)",
        "",
        f"`wrk -t2 -cN -d{plan['seconds']}s` with a POST body, after a {plan['warmup_s']} s warm-up at 50 connections."
        " Closed loop: each connection sends its next request when the last answer is in, so latency here is mostly"
        " queueing at saturation. Errors = connect + read + write + timeout + non-2xx.",
        "",
        "| target | conns | req/s | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in results["targets"]:
        for conns in plan["conns"]:
            w = t["wrk"].get(str(conns))
            if w:
                out.append(f"| {t['label']} | {conns} | {fmt(w['rps'])} | {fmt(w['p50_ms'], 3)} | {fmt(w['p99_ms'], 3)} | {w['errors']} |")
    out += ["", "Streamed (whole 20-chunk answers), 50 connections:", "",
            "| target | answers/s | p50 ms | p99 ms | errors |", "| --- | ---: | ---: | ---: | ---: |"]
    for t in results["targets"]:
        w = t.get("wrk_stream")
        if w:
            out.append(f"| {t['label']} | {fmt(w['rps'])} | {fmt(w['p50_ms'], 3)} | {fmt(w['p99_ms'], 3)} | {w['errors']} |")

    # Ratios
    def peak(t):
        return max(w["rps"] for w in t["wrk"].values()) if t and t["wrk"] else None

    out += ["", "### Ratios", "", "| ratio | 10 conns | 50 conns | 200 conns | peak |", "| --- | ---: | ---: | ---: | ---: |"]

    def ratio_row(label, a, b):
        if not a or not b:
            return
        cells = []
        for conns in plan["conns"]:
            x, y = a["wrk"].get(str(conns)), b["wrk"].get(str(conns))
            cells.append(f"{x['rps'] / y['rps']:.2f}" if x and y and y["rps"] else "—")
        out.append(f"| {label} | {' | '.join(cells)} | {peak(a) / peak(b):.2f} |")

    ratio_row("Switchboard (governance on) / nginx proxy", gov, proxy)
    ratio_row("Switchboard (governance off) / nginx proxy", bare, proxy)
    ratio_row("Switchboard (governance on) / Switchboard (off)", gov, bare)
    ratio_row("nginx proxy / direct", proxy, direct)
    for l in lite:
        ratio_row(f"Switchboard (governance on) / {l['label']}", gov, l)

    # Paced latency
    out += [
        "",
        "### Added latency at 10 connections (paced)",
        "",
        "`bench/httpclient` (C, keep-alive, one thread per connection): 10 connections sending"
        f" {plan['paced_rate']} requests/s in total (LiteLLM: 20 per worker), {plan['paced_requests']} requests after"
        " a warm-up; time from the request's first byte sent to the answer's last byte read. This is the gateway's own"
        " cost per request, not queueing. Added = target − direct.",
        "",
        "| target | p50 ms | p90 ms | p99 ms | p50 added | p99 added | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in results["targets"]:
        p = t["paced"]["total_ms"]
        errors = t["paced"]["transport_errors"] + t["paced"]["bad_status"] + t["paced"]["bad_body"]
        a50 = p["p50"] - direct["paced"]["total_ms"]["p50"] if direct else None
        a99 = p["p99"] - direct["paced"]["total_ms"]["p99"] if direct else None
        out.append(f"| {t['label']} | {p['p50']:.3f} | {p['p90']:.3f} | {p['p99']:.3f} | {signed(a50)} | {signed(a99)} | {errors} |")

    out += [
        "",
        "### Streaming: time to first byte and to the end",
        "",
        f"Same client, 10 connections, {plan['stream_rate']} streamed answers/s in total (LiteLLM: 10 per worker),"
        f" {plan['stream_requests']} answers. TTFB = request sent → first body byte (the first SSE chunk);"
        " total = → `[DONE]` and the end of the body. Added = target − direct.",
        "",
        "| target | TTFB p50 | TTFB p99 | total p50 | total p99 | TTFB p50 added | total p50 added | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in results["targets"]:
        s = t["stream"]
        errors = s["transport_errors"] + s["bad_status"] + s["bad_body"]
        d = direct["stream"] if direct else None
        out.append(
            f"| {t['label']} | {s['ttfb_ms']['p50']:.3f} | {s['ttfb_ms']['p99']:.3f} | {s['total_ms']['p50']:.3f} |"
            f" {s['total_ms']['p99']:.3f} | {signed(s['ttfb_ms']['p50'] - d['ttfb_ms']['p50'] if d else None)} |"
            f" {signed(s['total_ms']['p50'] - d['total_ms']['p50'] if d else None)} | {errors} |"
        )

    out += [
        "",
        "### Memory and start-up",
        "",
        "RSS = VmRSS from `/proc/PID/status` (`bench/rss.py`; nginx and LiteLLM: the master and all its workers summed)."
        " Idle: 1 s after ready, before any request. Under load: the peak sampled every 100 ms during the wrk runs."
        " Start-up: exec → first 200 on `/ready` (LiteLLM: `/health/readiness`), polled every 5 ms.",
        "",
        "| target | start-up ms (this process) | RSS idle MB | RSS under load MB | RSS after the run MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for t in results["targets"]:
        startup = t.get("startup_s")
        out.append(
            f"| {t['label']} | {fmt(startup * 1000 if startup is not None else None, 0)} | {fmt(t.get('rss_idle_mb'), 1)} |"
            f" {fmt(t.get('rss_load_mb'), 1)} | {fmt(t.get('rss_after_mb'), 1)} |"
        )
    samples = results.get("startup_samples_s")
    if samples:
        ms = sorted(s * 1000 for s in samples)
        out.append("")
        out.append(
            f"Switchboard start-up, {len(ms)} more cold starts with a new SQLite file each (migrations run):"
            f" median {ms[len(ms) // 2]:.0f} ms, min {ms[0]:.0f}, max {ms[-1]:.0f}."
        )
    streams = results.get("open_streams")
    if streams:
        out += [
            "",
            f"**{streams['streams']} concurrent open streams**, on a fresh gateway process (governance-on config; route"
            " `slow`: the `mock` provider streaming 20 chunks 2 s apart, so none ends during the test;"
            " `bench/open_streams.py` opens them in batches of 100 and waits until each has its 200 head and first chunk):"
            f" {streams['open_ok']} open ({streams['outcomes']}) after {streams['seconds_to_open']} s;"
            f" RSS {streams['rss_before_mb']} MB before, **{streams['rss_open_mb']} MB** with all open,"
            f" {streams.get('rss_after_close_mb')} MB 1 s after they closed.",
        ]
    if gov and gov.get("rss_after_mb"):
        out += [
            "",
            f"RSS does not come back after load: the governance-on process sat at {gov['rss_after_mb']} MB after its"
            f" runs (idle {gov['rss_idle_mb']} MB) — see bench/NOTES.md (malloc arenas).",
        ]

    # Budget
    hit = targets.get("switchboard-cache-hit")
    if hit and gov:
        out += [
            "",
            "### Response cache hits (issue #15)",
            "",
            "`--cache`: the same Switchboard set-up as governance on (virtual key, limits, accounting, metadata log) with"
            " `cache: {enabled: true}`; every timed request repeats the checked body, so each is answered from the cache."
            " A miss is the governance-on row above (proxied to nginx). `/health` is timed on the cache process with the"
            " same paced client (`--get`).",
            "",
            "| conns | hit req/s | proxied miss req/s | hit ÷ miss (budget ≥ 1.5) |",
            "| ---: | ---: | ---: | ---: |",
        ]
        for conns in plan["conns"]:
            h, m = hit["wrk"].get(str(conns)), gov["wrk"].get(str(conns))
            if h and m:
                ratio = h["rps"] / m["rps"]
                out.append(f"| {conns} | {fmt(h['rps'])} | {fmt(m['rps'])} | {ratio:.2f} {verdict(ratio >= 1.5)} |")
        health = hit.get("paced_health", {}).get("total_ms")
        if health:
            p = hit["paced"]["total_ms"]
            added = p["p50"] - health["p50"]
            pairs = hit.get("paced_pairs") or []
            if pairs:
                # The median over back-to-back pairs: one pair moves by ±0.1 ms on this VM.
                added = statistics.median(pair["hit_p50"] - pair["health_p50"] for pair in pairs)
            out += [
                "",
                "| paced, 10 conns | p50 ms | p99 ms |",
                "| --- | ---: | ---: |",
                f"| `GET /health` | {health['p50']:.3f} | {health['p99']:.3f} |",
                f"| cache hit (`POST /v1/chat/completions`) | {p['p50']:.3f} | {p['p99']:.3f} |",
                f"| proxied miss | {gov['paced']['total_ms']['p50']:.3f} | {gov['paced']['total_ms']['p99']:.3f} |",
                "",
                f"Hit p50 added over `GET /health`: **{added:+.3f} ms** (budget ≤ 0.3 ms: {verdict(added <= 0.3)})"
                + (f", the median of {len(pairs)} back-to-back pairs ("
                   + ", ".join(f"{pair['hit_p50'] - pair['health_p50']:+.3f}" for pair in pairs) + ")." if pairs else "."),
            ]
    out += ["", "### Against the budget (DESIGN.md §7)", "", "| line | budget | measured | |", "| --- | --- | --- | --- |"]
    if gov and proxy:
        r = peak(gov) / peak(proxy)
        out.append(f"| throughput, governance on / nginx proxy (peak req/s) | ≥ {BUDGET['throughput_ratio']:.2f} | {r:.2f} ({fmt(peak(gov))} / {fmt(peak(proxy))}) | {verdict(r >= BUDGET['throughput_ratio'])} |")
    if gov and direct:
        a50 = gov["paced"]["total_ms"]["p50"] - direct["paced"]["total_ms"]["p50"]
        a99 = gov["paced"]["total_ms"]["p99"] - direct["paced"]["total_ms"]["p99"]
        out.append(f"| p50 added at 10 connections (paced) | ≤ {BUDGET['p50_added_ms']} ms | {a50:.3f} ms | {verdict(a50 <= BUDGET['p50_added_ms'])} |")
        out.append(f"| p99 added at 10 connections (paced) | ≤ {BUDGET['p99_added_ms']} ms | {a99:.3f} ms | {verdict(a99 <= BUDGET['p99_added_ms'])} |")
        w50 = gov["wrk"]["10"]["p50_ms"] - direct["wrk"]["10"]["p50_ms"]
        w99 = gov["wrk"]["10"]["p99_ms"] - direct["wrk"]["10"]["p99_ms"]
        out.append(f"| (same, wrk closed loop at saturation, for reference) | | p50 {w50:+.3f} ms, p99 {w99:+.3f} ms | — |")
        t = gov["stream"]["ttfb_ms"]["p50"] - direct["stream"]["ttfb_ms"]["p50"]
        out.append(f"| streaming first byte added (p50) | ≤ {BUDGET['ttfb_added_ms']} ms | {t:.3f} ms | {verdict(t <= BUDGET['ttfb_added_ms'])} |")
    if gov:
        out.append(f"| RSS idle | ≤ {BUDGET['rss_idle_mb']} MB | {gov['rss_idle_mb']} MB | {verdict(gov['rss_idle_mb'] <= BUDGET['rss_idle_mb'])} |")
        if streams:
            ok = streams["rss_open_mb"] <= BUDGET["rss_streams_mb"] and streams["open_ok"] == streams["streams"]
            out.append(f"| RSS with {streams['streams']} open streams | ≤ {BUDGET['rss_streams_mb']} MB | {streams['rss_open_mb']} MB ({streams['open_ok']} open) | {verdict(ok)} |")
    notes = [n for t in results["targets"] for n in t.get("notes", [])]
    if notes:
        out += ["", "Notes: " + " ".join(f"{n.rstrip('.')}." for n in notes)]
    out += [
        "",
        "Where a line is missed, bench/NOTES.md has the profile and what to change.",
        "",
        "<details><summary>Exact commands of this run</summary>",
        "",
        "```",
        *[portable(command) for command in results.get("commands", [])],
        "```",
        "",
        *[line for t in results["targets"] if t.get("config_text") for line in (
            f"Config of {t['label']}:", "", "```yaml", portable(t["config_text"]).rstrip("\n"), "```", "")],
        "</details>",
        END,
    ]
    return "\n".join(out)


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def portable(text):
    """Commands and configs as anyone can read them: repository paths relative, the run's
    temporary directories as $RUN_DIR (run.sh's) and $WORK_DIR (bench.py's)."""
    text = text.replace(REPO + "/", "")
    text = re.sub(r"/tmp/switchboard-bench-run\.[A-Za-z0-9]+", "$RUN_DIR", text)
    return re.sub(r"/tmp/switchboard-bench-[A-Za-z0-9_]+", "$WORK_DIR", text)


def main():
    result_path, results_md = sys.argv[1], sys.argv[2]
    command = sys.argv[3] if len(sys.argv) > 3 else "bench/run.sh"
    with open(result_path) as handle:
        results = json.load(handle)
    section = render(results, command)
    text = open(results_md).read() if os.path.exists(results_md) else "# Benchmark results\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    with open(results_md, "w") as handle:
        handle.write(text)


if __name__ == "__main__":
    main()
