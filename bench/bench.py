#!/usr/bin/env python3
"""The gateway benchmark (issue #6): Switchboard against nginx and (optionally) LiteLLM, one run.

Everything runs on loopback, on this machine, in one go so the ratios hold:

- nginx as the fake upstream: a static chat.completion and a static SSE answer (20 chunks, a
  usage chunk, `[DONE]`);
- `direct`: the load generator straight at that upstream;
- `nginx-proxy`: nginx as a reverse proxy with keep-alive upstream connections;
- `switchboard-gov`: the release build with auth (a virtual key), limits, cost accounting and
  request logging to SQLite on; `switchboard-bare`: the same with all of them off;
- `litellm-1w`, `litellm-2w` (with --litellm): LiteLLM's proxy, one and two workers, no database.

Before any timing every target is checked: each response must be a 200 with the expected body
(non-streamed content, and the streamed chunks joined). Every process started here is stopped by
its PID. Results go to a JSON file; bench/write_bench_results.py renders them into RESULTS.md.
"""

import argparse
import http.client
import json
import os
import platform
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rss  # noqa: E402

REPLY = "Hello from the benchmark upstream."
WORDS = [f"w{i} " for i in range(20)]
STREAMED = "".join(WORDS)
MASTER_KEY = "sk-bench-master"
LITELLM_KEY = "sk-litellm-master"
CHAT_BODY = {"model": "bench", "messages": [{"role": "user", "content": "hi"}]}

COMMANDS = []  # every external command line run, for RESULTS.md


def write_section(name, text):
    """Puts `text` (which starts with `<!-- NAME:start -->` and ends with `<!-- NAME:end -->`)
    into bench/RESULTS.md in place of the section of that name, or at the end."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
    with open(path) as handle:
        current = handle.read()
    start_marker, end_marker = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start_marker in current:
        start = current.index(start_marker)
        end = current.index(end_marker) + len(end_marker)
        current = current[:start] + text + current[end:]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    with open(path, "w") as handle:
        handle.write(current)


def log(*parts):
    print("[bench]", *parts, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The fake upstream's answers


def chat_completion_json():
    return json.dumps({
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_bench",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": REPLY, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 9, "completion_tokens": 8, "total_tokens": 17},
    }, separators=(",", ":"))


def sse_body():
    def chunk(delta, finish=None, usage=None, choices=True):
        body = {
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-4o-mini", "system_fingerprint": "fp_bench",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
        }
        if usage is not None:
            body["usage"] = usage
        return "data: " + json.dumps(body, separators=(",", ":")) + "\n\n"

    events = []
    for index, word in enumerate(WORDS):
        delta = {"role": "assistant", "content": word} if index == 0 else {"content": word}
        events.append(chunk(delta, finish="stop" if index == len(WORDS) - 1 else None))
    events.append(chunk({}, usage={"prompt_tokens": 9, "completion_tokens": 20, "total_tokens": 29}, choices=False))
    events.append("data: [DONE]\n\n")
    return "".join(events)


def nginx_string(text):
    """A single-quoted nginx string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def nginx_return(text, prefix):
    """`return 200 ...` for a text longer than nginx's 4 KB token limit: set it in pieces."""
    pieces = [text[i:i + 2000] for i in range(0, len(text), 2000)]
    sets = " ".join(f"set ${prefix}{n} {nginx_string(piece)};" for n, piece in enumerate(pieces))
    return sets + ' return 200 "' + "".join(f"${prefix}{n}" for n in range(len(pieces))) + '";'


NGINX_COMMON = """
worker_rlimit_nofile 20000;
error_log {dir}/error.log error;
pid {dir}/nginx.pid;
daemon off;
user root;
events {{ worker_connections 10000; multi_accept on; }}
"""


def write_upstream_config(workdir, port):
    d = os.path.join(workdir, "nginx-upstream")
    os.makedirs(d, exist_ok=True)
    conf = NGINX_COMMON.format(dir=d) + f"""
worker_processes 1;
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    map $http_accept $answer {{ default json; "~*text/event-stream" sse; }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location = /v1/chat/completions {{ rewrite ^ /_$answer last; }}
        # For clients that cannot be told to send `Accept: text/event-stream` (LiteLLM).
        location = /sse/v1/chat/completions {{ rewrite ^ /_sse last; }}
        location = /_json {{ internal; default_type application/json; {nginx_return(chat_completion_json(), 'json')} }}
        location = /_sse {{ internal; default_type text/event-stream; {nginx_return(sse_body(), 'sse')} }}
        location / {{ return 404; }}
    }}
}}
"""
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as handle:
        handle.write(conf)
    return path


def write_proxy_config(workdir, port, upstream_port):
    d = os.path.join(workdir, "nginx-proxy")
    os.makedirs(d, exist_ok=True)
    conf = NGINX_COMMON.format(dir=d) + f"""
worker_processes auto;
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    upstream fake {{
        server 127.0.0.1:{upstream_port};
        keepalive 256;
        keepalive_requests 100000000;
        keepalive_timeout 300s;
    }}
    server {{
        listen 127.0.0.1:{port} reuseport backlog=4096;
        location / {{
            proxy_pass http://fake;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""
    path = os.path.join(d, "nginx.conf")
    with open(path, "w") as handle:
        handle.write(conf)
    return path


def switchboard_config(workdir, name, port, upstream_port, governance, cache=False, limits_extra=(), extra=()):
    db = os.path.join(workdir, f"{name}.db")
    lines = [
        "server:",
        "  host: 127.0.0.1",
        f"  port: {port}",
    ]
    if governance:
        lines.append(f"  master_key: {MASTER_KEY}")
    lines += [
        "storage:",
        f"  url: sqlite://{db}",
        "providers:",
        "  - name: up",
        "    type: openai-compatible",
        f"    base_url: http://127.0.0.1:{upstream_port}/v1",
        "    api_key: dummy",
        "  - name: slowmock",
        "    type: mock",
        "    chunks: 20",
        "    chunk_delay_ms: 2000",
        "models:",
        "  - name: bench",
        "    targets: [{ provider: up, model: gpt-4o-mini }]",
        "    price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }",
        "  - name: slow",
        "    targets: [{ provider: slowmock, model: slow }]",
        "    price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }",
        "reliability:",
        "  max_concurrent_upstream: 10000",
    ]
    if governance:
        lines += [
            "limits:",
            *limits_extra,
            "  default_rpm: 100000000",
            "  default_tpm: 1000000000000",
            "request_log:",
            "  mode: metadata",
        ]
    else:
        lines += ["request_log:", "  mode: off"]
    if cache:
        lines += ["cache:", "  enabled: true"]
    lines += list(extra)
    path = os.path.join(workdir, f"{name}.yaml")
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path, db


def litellm_config(workdir, upstream_port):
    path = os.path.join(workdir, "litellm.yaml")
    with open(path, "w") as handle:
        handle.write(f"""model_list:
  - model_name: bench
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:{upstream_port}/v1
      api_key: dummy
  - model_name: bench-stream
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:{upstream_port}/sse/v1
      api_key: dummy
litellm_settings:
  telemetry: false
  drop_params: true
general_settings:
  master_key: {LITELLM_KEY}
""")
    return path


# ---------------------------------------------------------------------------------------------
# Processes


class Processes:
    """Every process this run starts, stopped by PID (and the PIDs of its descendants)."""

    def __init__(self):
        self.running = {}

    def start(self, name, argv, log_path, env=None, new_session=False):
        COMMANDS.append(" ".join(shlex.quote(a) for a in argv))
        handle = open(log_path, "w")
        proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=new_session)
        self.running[proc.pid] = (name, proc, handle)
        log(f"started {name} (pid {proc.pid})")
        return proc

    def stop(self, proc, grace=10):
        if proc.pid not in self.running:
            return
        name, _, handle = self.running.pop(proc.pid)
        family = rss.descendants(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pid in family:  # workers a master left behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        handle.close()
        log(f"stopped {name} (pid {proc.pid})")

    def stop_all(self):
        for _, proc, _ in list(self.running.values()):
            self.stop(proc)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_status(port, path, timeout=0.5):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return None


def wait_ready(port, path, started, timeout=120.0, proc=None):
    """Seconds from `started` (exec) to the first 200 on `path`, polled every 5 ms."""
    while time.perf_counter() - started < timeout:
        if get_status(port, path) == 200:
            return time.perf_counter() - started
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(0.005)
    return None


def post(port, path, body, headers, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json", **headers})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


# ---------------------------------------------------------------------------------------------
# Checking answers before timing


def streamed_content(payload):
    """The content of an SSE chat answer, and whether it ended with [DONE]."""
    text, done = "", False
    for block in payload.decode().split("\n\n"):
        for line in block.split("\n"):
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                done = True
                continue
            chunk = json.loads(data)
            for choice in chunk.get("choices", []):
                text += (choice.get("delta") or {}).get("content") or ""
    return text, done


def check_target(target, count):
    """Every answer a 200 with the expected body; raises otherwise."""
    headers = dict(h.split(": ", 1) for h in target["headers"])
    for i in range(count):
        status, payload = post(target["port"], target["path"], {**CHAT_BODY, "model": target["model"]}, headers)
        if status != 200:
            raise RuntimeError(f"{target['name']}: non-streamed answer {i} is HTTP {status}: {payload[:300]!r}")
        content = json.loads(payload)["choices"][0]["message"]["content"]
        if content != REPLY:
            raise RuntimeError(f"{target['name']}: non-streamed answer {i} has content {content!r}")
    stream_headers = dict(h.split(": ", 1) for h in target["stream_headers"])
    for i in range(max(1, count // 2)):
        body = {**CHAT_BODY, "model": target["stream_model"], "stream": True}
        status, payload = post(target["port"], target["stream_path"], body, stream_headers)
        if status != 200:
            raise RuntimeError(f"{target['name']}: streamed answer {i} is HTTP {status}: {payload[:300]!r}")
        content, done = streamed_content(payload)
        # The cache target answers a streamed request from the non-streamed entry the checks stored.
        if content not in (STREAMED, *target.get("also_streamed", ())) or not done:
            raise RuntimeError(f"{target['name']}: streamed answer {i} has content {content!r}, [DONE] {done}")


# ---------------------------------------------------------------------------------------------
# Load


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
{headers}
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCHJSON {{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {{"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}, "latency_us": {{"p50": %d, "p90": %d, "p99": %d, "mean": %.1f, "max": %d}}}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))
end
"""


def lua_string(text):
    return json.dumps(text)  # a JSON string is a valid Lua string for this ASCII content


def run_wrk(workdir, target, conns, seconds, stream=False):
    body = {**CHAT_BODY, "model": target["stream_model"] if stream else target["model"]}
    if stream:
        body["stream"] = True
    headers = target["stream_headers"] if stream else target["headers"]
    script = WRK_SCRIPT.format(
        body=lua_string(json.dumps(body)),
        headers="\n".join(f'wrk.headers[{lua_string(h.split(": ", 1)[0])}] = {lua_string(h.split(": ", 1)[1])}' for h in headers),
    )
    script_path = os.path.join(workdir, f"wrk-{target['name']}-{'sse' if stream else 'json'}.lua")
    with open(script_path, "w") as handle:
        handle.write(script)
    path = target["stream_path"] if stream else target["path"]
    argv = ["wrk", f"-t{min(2, conns)}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s", script_path,
            f"http://127.0.0.1:{target['port']}{path}"]
    COMMANDS.append(" ".join(argv))
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(l for l in out.splitlines() if l.startswith("BENCHJSON "))
    raw = json.loads(line[len("BENCHJSON "):])
    errors = sum(raw["errors"].values())
    return {
        "conns": conns,
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": raw["latency_us"]["p50"] / 1000,
        "p90_ms": raw["latency_us"]["p90"] / 1000,
        "p99_ms": raw["latency_us"]["p99"] / 1000,
        "mean_ms": round(raw["latency_us"]["mean"] / 1000, 3),
        "errors": errors,
        "error_detail": raw["errors"],
        "requests": raw["requests"],
    }


def run_client(client, workdir, target, conns, requests, rate, stream, warmup=None, get_path=None):
    body = {**CHAT_BODY, "model": target["stream_model"] if stream else target["model"]}
    if stream:
        body["stream"] = True
    body_path = os.path.join(workdir, f"body-{target['name']}-{'sse' if stream else 'json'}.json")
    with open(body_path, "w") as handle:
        handle.write(json.dumps(body))
    if get_path:
        # GET with no body (`/health`): the server and its middleware alone.
        request = ["--path", get_path, "--get", "--expect", '"status"']
    else:
        request = ["--path", target["stream_path"] if stream else target["path"], "--body-file", body_path,
                   "--expect", "[DONE]" if stream else REPLY]
    argv = [client, "--port", str(target["port"]), *request, "--conns", str(conns), "--requests", str(requests), "--rate", str(rate),
            "--warmup", str(max(conns * 5, requests // 20) if warmup is None else warmup)]
    for header in target["stream_headers"] if stream else target["headers"]:
        argv += ["--header", header]
    COMMANDS.append(" ".join(shlex.quote(a) for a in argv))
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"httpclient failed: {out.stderr}")
    result = json.loads(out.stdout)
    result["rate"] = rate
    result["conns"] = conns
    return result


# ---------------------------------------------------------------------------------------------
# One target at a time


def measure_target(args, procs, client, workdir, target, plan):
    name = target["name"]
    log(f"checking {name}")
    check_target(target, plan["check"])
    result = {"name": name, "label": target["label"], "wrk": {}, "notes": target.get("notes", [])}
    for key in ("startup_s", "rss_idle_mb", "config_text"):
        if key in target:
            result[key] = target[key]
    pid = target.get("pid")
    # Warm up connection pools and code paths.
    run_wrk(workdir, target, 50, plan["warmup_s"])
    for conns in plan["conns"]:
        log(f"{name}: wrk {conns} connections")
        stop = threading.Event()
        peak = {}
        sampler = None
        if pid:
            sampler = threading.Thread(target=lambda: peak.setdefault("mb", rss.watch(pid, 3600, target.get("tree", False), 0.1, stop)))
            sampler.start()
        result["wrk"][str(conns)] = run_wrk(workdir, target, conns, plan["seconds"])
        # A slow server may still be working off requests wrk abandoned; let it drain.
        time.sleep(target.get("settle_s", 0.5))
        if sampler:
            stop.set()
            sampler.join()
            result.setdefault("rss_load_mb", 0)
            result["rss_load_mb"] = round(max(result["rss_load_mb"], peak["mb"]), 1)
    log(f"{name}: wrk streamed, 50 connections")
    result["wrk_stream"] = run_wrk(workdir, target, 50, plan["seconds"], stream=True)
    time.sleep(target.get("settle_s", 0.5))
    rate, count = target.get("paced", (plan["paced_rate"], plan["paced_requests"]))
    log(f"{name}: paced latency, 10 connections at {rate}/s")
    result["paced"] = run_client(client, workdir, target, 10, count, rate, stream=False)
    rate, count = target.get("paced_stream", (plan["stream_rate"], plan["stream_requests"]))
    log(f"{name}: streaming TTFB, 10 connections at {rate}/s")
    result["stream"] = run_client(client, workdir, target, 10, count, rate, stream=True)
    if pid:
        result["rss_after_mb"] = round(rss.rss_mb(pid, target.get("tree", False)), 1)
    return result


def start_switchboard(args, procs, workdir, name, upstream_port, governance, cache=False, limits_extra=(), extra=()):
    port = free_port()
    config, db = switchboard_config(workdir, name, port, upstream_port, governance, cache, limits_extra, extra)
    argv = [args.binary, "serve", "--config", config, "--log-level", "error"]
    started = time.perf_counter()
    proc = procs.start(name, argv, os.path.join(workdir, f"{name}.log"))
    ready = wait_ready(port, "/ready", started, proc=proc)
    if ready is None:
        raise RuntimeError(f"{name} did not become ready; log in {workdir}/{name}.log")
    time.sleep(1.0)
    target = {
        "name": name, "port": port, "pid": proc.pid, "proc": proc, "startup_s": round(ready, 4),
        "rss_idle_mb": round(rss.rss_mb(proc.pid), 1),
        "path": "/v1/chat/completions", "stream_path": "/v1/chat/completions",
        "model": "bench", "stream_model": "bench", "headers": [], "stream_headers": [], "notes": [],
        "config": config, "config_text": open(config).read(),
    }
    if governance:
        key = MASTER_KEY
        status, payload = post(port, "/admin/keys", {
            "name": "bench", "rpm": 100000000, "tpm": 1000000000000, "max_budget_usd": 1000000000,
            "budget_period": "monthly",
        }, {"authorization": f"Bearer {MASTER_KEY}"})
        if status == 201:
            key = json.loads(payload)["key"]
            target["label"] = "Switchboard, governance on (virtual key)"
            target["virtual_key"] = True
        else:
            target["label"] = "Switchboard, governance on (virtual key unavailable: master key)"
            target["virtual_key"] = False
            target["notes"].append(f"POST /admin/keys answered HTTP {status}: virtual key unavailable, the master key was used")
        target["headers"] = [f"Authorization: Bearer {key}"]
        target["stream_headers"] = list(target["headers"])
    else:
        target["label"] = "Switchboard, governance off"
    return target


def startup_samples(args, workdir, procs, upstream_port, runs):
    """Exec to first 200 on /ready, fresh database each time (governance config)."""
    samples = []
    for i in range(runs):
        port = free_port()
        config, db = switchboard_config(workdir, f"startup{i}", port, upstream_port, True)
        started = time.perf_counter()
        proc = procs.start(f"startup{i}", [args.binary, "serve", "--config", config, "--log-level", "error"],
                           os.path.join(workdir, f"startup{i}.log"))
        ready = wait_ready(port, "/ready", started, proc=proc)
        procs.stop(proc)
        if ready is not None:
            samples.append(ready)
    return samples


def start_litellm(args, procs, workdir, upstream_port, workers):
    port = free_port()
    config = litellm_config(workdir, upstream_port)
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR", DISABLE_ADMIN_UI="True")
    argv = [args.litellm_bin, "--config", config, "--host", "127.0.0.1", "--port", str(port), "--num_workers", str(workers)]
    name = f"litellm-{workers}w"
    started = time.perf_counter()
    proc = procs.start(name, argv, os.path.join(workdir, f"{name}.log"), env=env, new_session=True)
    ready = wait_ready(port, "/health/readiness", started, timeout=180, proc=proc)
    if ready is None:
        raise RuntimeError(f"{name} did not become ready; log in {workdir}/{name}.log")
    time.sleep(2.0)
    headers = [f"Authorization: Bearer {LITELLM_KEY}"]
    return {
        "name": name, "label": f"LiteLLM proxy, {workers} worker{'s' if workers > 1 else ''}, no database",
        "port": port, "pid": proc.pid, "proc": proc, "tree": True, "startup_s": round(ready, 3),
        "rss_idle_mb": round(rss.rss_mb(proc.pid, tree=True), 1),
        "path": "/v1/chat/completions", "stream_path": "/v1/chat/completions",
        "model": "bench", "stream_model": "bench-stream", "headers": headers, "stream_headers": headers,
        "paced": (20 * workers, 400 * workers), "paced_stream": (10 * workers, 200 * workers), "settle_s": 10,
        "notes": [], "config_text": open(config).read(),
    }


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    def version(argv):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"
    return {
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
        "cpu": cpu,
        "kernel": platform.release(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
        "nginx": version(["nginx", "-v"]),
        "wrk": version(["wrk", "-v"]),
        "swift": version(["swift", "--version"]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the release switchboard binary")
    parser.add_argument("--client", required=True, help="the compiled bench/httpclient.c")
    parser.add_argument("--json", required=True, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="short runs (3 s per point) for a smoke test")
    parser.add_argument("--litellm-bin", help="the litellm executable (enables the LiteLLM rows)")
    parser.add_argument("--streams", type=int, default=2000, help="concurrent open streams for the memory test")
    parser.add_argument("--only", help="comma-separated targets to run (direct,nginx-proxy,switchboard-gov,...)")
    parser.add_argument("--cache", action="store_true",
                        help="add switchboard-cache-hit: governance on, the response cache on, every timed request a hit")
    args = parser.parse_args()

    plan = {
        "conns": [10, 50, 200],
        "seconds": 3 if args.quick else 10,
        "warmup_s": 1 if args.quick else 3,
        "check": 20 if args.quick else 100,
        # Low enough that the gateway is mostly idle between requests: its own cost, not queueing.
        "paced_rate": 200, "paced_requests": 1000 if args.quick else 4000,
        "stream_rate": 100, "stream_requests": 500 if args.quick else 2000,
        "startup_runs": 3 if args.quick else 5,
        # Back-to-back paced pairs (/health, then cache hits) for the hit's added latency.
        "pairs": 1 if args.quick else 5,
    }
    only = set(args.only.split(",")) if args.only else None
    wanted = lambda name: only is None or name in only  # noqa: E731

    workdir = tempfile.mkdtemp(prefix="switchboard-bench-")
    log("work directory", workdir)
    procs = Processes()
    results = {"machine": machine(), "plan": plan, "targets": [], "workdir": workdir, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}

    def on_signal(signum, frame):
        procs.stop_all()
        sys.exit(130)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    status = 0
    try:
        upstream_port, proxy_port = free_port(), free_port()
        upstream = procs.start("nginx-upstream", ["nginx", "-c", write_upstream_config(workdir, upstream_port)],
                               os.path.join(workdir, "nginx-upstream.log"))
        proxy = procs.start("nginx-proxy", ["nginx", "-c", write_proxy_config(workdir, proxy_port, upstream_port)],
                            os.path.join(workdir, "nginx-proxy.log"))
        for port, proc in ((upstream_port, upstream), (proxy_port, proxy)):
            if wait_ready(port, "/v1/chat/completions", time.perf_counter(), 10) is None and get_status(port, "/") is None:
                raise RuntimeError(f"nginx on {port} did not start; see {workdir}")
        base = {"path": "/v1/chat/completions", "stream_path": "/v1/chat/completions", "model": "bench",
                "stream_model": "bench", "headers": [], "stream_headers": ["Accept: text/event-stream"]}
        if wanted("direct"):
            target = dict(base, name="direct", label="direct to the fake upstream (nginx)", port=upstream_port, pid=upstream.pid,
                          tree=True, rss_idle_mb=round(rss.rss_mb(upstream.pid, tree=True), 1))
            results["targets"].append(measure_target(args, procs, args.client, workdir, target, plan))
        if wanted("nginx-proxy"):
            target = dict(base, name="nginx-proxy", label="nginx reverse proxy (keep-alive upstream)", port=proxy_port,
                          pid=proxy.pid, tree=True, rss_idle_mb=round(rss.rss_mb(proxy.pid, tree=True), 1))
            results["targets"].append(measure_target(args, procs, args.client, workdir, target, plan))

        for name, governance in (("switchboard-gov", True), ("switchboard-bare", False)):
            if not wanted(name):
                continue
            target = start_switchboard(args, procs, workdir, name, upstream_port, governance)
            try:
                result = measure_target(args, procs, args.client, workdir, target, plan)
                result["virtual_key"] = target.get("virtual_key")
                results["targets"].append(result)
            finally:
                procs.stop(target["proc"])
        if args.cache and wanted("switchboard-cache-hit"):
            # The same body every time: after the check requests stored it, every request is a hit
            # (streams too: a streamed request is answered from the non-streamed entry).
            target = start_switchboard(args, procs, workdir, "switchboard-cache-hit", upstream_port, True, cache=True)
            target["also_streamed"] = (REPLY,)
            try:
                result = measure_target(args, procs, args.client, workdir, target, plan)
                result["label"] = "Switchboard, governance on, response cache hit"
                log("switchboard-cache-hit: paced GET /health, 10 connections")
                result["paced_health"] = run_client(args.client, workdir, target, 10, plan["paced_requests"], plan["paced_rate"],
                                                    stream=False, get_path="/health")
                # On this VM one paced run's p50 moves by ±0.1 ms from run to run: the added figure is
                # the median over pairs timed back to back (/health, then hits), on the same process.
                pairs = []
                for index in range(plan["pairs"]):
                    log(f"switchboard-cache-hit: paced pair {index + 1} of {plan['pairs']} (/health, then hits)")
                    health = run_client(args.client, workdir, target, 10, plan["paced_requests"], plan["paced_rate"],
                                        stream=False, get_path="/health")
                    hits = run_client(args.client, workdir, target, 10, plan["paced_requests"], plan["paced_rate"], stream=False)
                    pairs.append({"health_p50": health["total_ms"]["p50"], "hit_p50": hits["total_ms"]["p50"]})
                result["paced_pairs"] = pairs
                results["targets"].append(result)
            finally:
                procs.stop(target["proc"])
        if wanted("switchboard-gov") and args.streams:
            # On a fresh process (governance on), so the figure is the streams' own, not heap left by the load runs.
            target = start_switchboard(args, procs, workdir, "switchboard-streams", upstream_port, True)
            try:
                log(f"{args.streams} open streams")
                argv = [sys.executable, os.path.join(HERE, "open_streams.py"), "--port", str(target["port"]),
                        "--pid", str(target["pid"]), "--model", "slow", "--streams", str(args.streams)]
                for header in target["headers"]:
                    argv += ["--header", header]
                COMMANDS.append(" ".join(shlex.quote(a) for a in argv))
                out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
                streams = json.loads(out.stdout)
                time.sleep(1)
                streams["rss_after_close_mb"] = round(rss.rss_mb(target["pid"]), 1)
                results["open_streams"] = streams
            finally:
                procs.stop(target["proc"])
        if wanted("switchboard-gov"):
            log("start-up samples")
            results["startup_samples_s"] = [round(s, 4) for s in startup_samples(args, workdir, procs, upstream_port, plan["startup_runs"])]

        if args.litellm_bin:
            for workers in (1, 2):
                if not wanted(f"litellm-{workers}w"):
                    continue
                target = start_litellm(args, procs, workdir, upstream_port, workers)
                try:
                    results["targets"].append(measure_target(args, procs, args.client, workdir, target, dict(plan, conns=plan["conns"])))
                finally:
                    procs.stop(target["proc"])
    except Exception as error:  # noqa: BLE001 — reported, and the processes still stopped
        log(f"FAILED: {error}")
        results["error"] = str(error)
        status = 1
    finally:
        procs.stop_all()
    results["commands"] = COMMANDS
    with open(args.json, "w") as handle:
        json.dump(results, handle, indent=2)
    log("results in", args.json)
    return status


if __name__ == "__main__":
    sys.exit(main())
