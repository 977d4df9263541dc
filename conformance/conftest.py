"""Starts a fake OpenAI upstream and the gateway in front of it, both on loopback ports."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

import fake_upstream

MASTER_KEY = "sk-test-master"

CONFIG = """
server:
  host: 127.0.0.1
  port: {port}
  master_key: {master}
storage:
  url: sqlite://{db}
providers:
  - name: fake
    type: openai-compatible
    base_url: http://127.0.0.1:{upstream}/v1
    api_key: {upstream_key}
    models: [fake-model]
  - name: az
    type: azure
    base_url: http://127.0.0.1:{upstream}
    api_key: {upstream_key}
  - name: claude
    type: anthropic
    base_url: http://127.0.0.1:{upstream}/anthropic
    api_key: {upstream_key}
  - name: gem
    type: gemini
    base_url: http://127.0.0.1:{upstream}/gemini
    api_key: {upstream_key}
  - name: oa
    type: openai
    base_url: http://127.0.0.1:{upstream}/v1
    api_key: {upstream_key}
  - name: aws
    type: bedrock
    region: us-east-1
    base_url: http://127.0.0.1:{upstream}/bedrock
    access_key_id: AKIDEXAMPLE
    secret_access_key: conformance-secret
models:
  - name: gpt-test
    targets: [{{ provider: fake, model: fake-model }}]
  - name: native
    targets: [{{ provider: oa, model: gpt-native }}]
  - name: cached
    targets: [{{ provider: fake, model: fake-model }}]
    cache: {{ enabled: true }}
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def binary_path():
    path = os.environ.get("SWITCHBOARD_BIN")
    if not path:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = os.path.join(root, ".build", "debug", "switchboard")
    if not os.path.exists(path):
        pytest.fail(f"the gateway binary is missing at {path}: run `swift build` first or set SWITCHBOARD_BIN")
    return path


class Upstream:
    def __init__(self, port):
        self.port = port

    def requests(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_requests") as response:
            return json.load(response)

    def last(self):
        """The last POST the upstream got (a GET such as a model listing is recorded too, but skipped here)."""
        posts = [request for request in self.requests() if request.get("method", "POST") == "POST"]
        assert posts, "the fake upstream received no POST request"
        return posts[-1]

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.port}/_reset", method="POST", data=b"")).read()


@pytest.fixture(scope="session")
def upstream():
    server, port = fake_upstream.start()
    yield Upstream(port)
    server.shutdown()
    server.server_close()


GATEWAY_LOG = {"path": None}


def gateway_log_tail(limit=200):
    path = GATEWAY_LOG["path"]
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        lines = handle.readlines()
    return "".join(lines[-limit:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that used the gateway shows the tail of the gateway's log with its report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and "gateway_url" in getattr(item, "fixturenames", ()):
        tail = gateway_log_tail()
        if tail:
            report.sections.append(("gateway log (last 200 lines)", tail))


@pytest.fixture(scope="session")
def gateway_url(upstream):
    binary = binary_path()
    workdir = tempfile.mkdtemp(prefix="switchboard-conformance-")
    port = free_port()
    config_path = os.path.join(workdir, "switchboard.yaml")
    with open(config_path, "w") as handle:
        handle.write(CONFIG.format(
            port=port, master=MASTER_KEY, db=os.path.join(workdir, "switchboard.db"),
            upstream=upstream.port, upstream_key=fake_upstream.API_KEY,
        ))
    log_path = os.path.join(workdir, "gateway.log")
    GATEWAY_LOG["path"] = log_path
    log = open(log_path, "w")
    process = subprocess.Popen(
        [binary, "serve", "--config", config_path], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        if process.poll() is not None:
            log.close()
            output = open(log_path, errors="replace").read()
            shutil.rmtree(workdir, ignore_errors=True)
            pytest.fail(f"the gateway exited at start with status {process.returncode}:\n" + output)
        try:
            with urllib.request.urlopen(base + "/health", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.time() > deadline:
            process.kill()
            process.wait()
            log.close()
            output = open(log_path, errors="replace").read()
            shutil.rmtree(workdir, ignore_errors=True)
            pytest.fail("the gateway did not answer /health within 60 s:\n" + output)
        time.sleep(0.1)
    yield base
    crashed = process.poll()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        crashed = "did not stop within 30 s of SIGTERM"
    log.close()
    if crashed is not None:
        print(f"\nthe gateway exited during the run ({crashed}); its log:\n" + gateway_log_tail())
    GATEWAY_LOG["path"] = None
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def client(gateway_url, upstream):
    from openai import OpenAI

    upstream.reset()
    return OpenAI(base_url=gateway_url + "/v1", api_key=MASTER_KEY, max_retries=0, timeout=30)
