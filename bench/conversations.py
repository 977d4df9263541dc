#!/usr/bin/env python3
"""What a conversation turn costs over a plain chat call (issue #13).

Starts the nginx fake upstream of bench/bench.py and one release gateway with the governance-on
set-up (virtual key with limits and a budget, metadata log). For each history size (10, 100 and
500 stored messages) it builds conversations of that size through the API (`POST
/v1/conversations/{id}/messages`, alternating user and assistant text of ~120 characters), then
times, over one keep-alive connection each and interleaved request by request:

  - a plain chat call (`messages`: one user message), and
  - the same call carrying the context a turn would send (the client keeps the history), and
  - a conversation turn (`conversation_id` + `message`, the same text): the gateway reads the
    conversation, its branches and the path (at most `max_context_messages`, 100; from memory
    for a recent conversation), builds the context, calls the upstream, and queues the writes.

Turns rotate over the conversations, so each grows by two messages per turn it gets; the
history sizes below are at the start (the table names how far they grew). The added p50 is
the turn's p50 − the same-context call's p50 over the same run. Writes the table between `<!-- conversations:start -->`
and `<!-- conversations:end -->` of bench/RESULTS.md (unless --no-write).

    bench/conversations.py --binary .build/release/switchboard
"""

import argparse
import datetime
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402

TEXT = "Tell me more about the harbour, the old town and where the ferries leave from in the morning, please."


class Client:
    def __init__(self, port, key):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}

    def call(self, method, path, body=None):
        started = time.perf_counter()
        self.conn.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {payload[:300]!r}")
        return elapsed, payload


def build(client, history, count):
    ids = []
    for _ in range(count):
        _, payload = client.call("POST", "/v1/conversations", {"model": "bench", "title": "bench"})
        conversation = json.loads(payload)["id"]
        for index in range(history):
            role = "user" if index % 2 == 0 else "assistant"
            client.call("POST", f"/v1/conversations/{conversation}/messages", {"role": role, "content": f"{index}: {TEXT}"})
        ids.append(conversation)
    return ids


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def context_of(client, conversation):
    """The messages a turn on `conversation` sends upstream now: the stored path's last 99, then the new one."""
    _, payload = client.call("GET", f"/v1/conversations/{conversation}/messages?limit=1000")
    path = [{"role": item["role"], "content": item["content"]} for item in json.loads(payload)["data"]]
    return path[-99:] + [{"role": "user", "content": TEXT}]


def measure(client, ids, turns):
    plain, same, turn = [], [], []
    history = context_of(client, ids[0])
    for index in range(turns):
        elapsed, payload = client.call("POST", "/v1/chat/completions", {"model": "bench", "messages": [{"role": "user", "content": TEXT}]})
        plain.append(elapsed)
        # The call a client keeping its own history would make: the same context in `messages`.
        elapsed, payload = client.call("POST", "/v1/chat/completions", {"model": "bench", "messages": history})
        same.append(elapsed)
        conversation = ids[index % len(ids)]
        elapsed, payload = client.call("POST", "/v1/chat/completions", {"model": "bench", "conversation_id": conversation, "message": TEXT})
        if b'"conversation_id"' not in payload:
            raise RuntimeError("a conversation turn answered without its conversation_id")
        turn.append(elapsed)
    return {
        "plain_p50": statistics.median(plain), "same_p50": statistics.median(same), "turn_p50": statistics.median(turn),
        "plain_p99": percentile(plain, 0.99), "same_p99": percentile(same, 0.99), "turn_p99": percentile(turn, 0.99),
        "context_messages": len(history),
    }


def render(result):
    lines = [
        "<!-- conversations:start -->",
        "## Conversation turns (issue #13)",
        "",
        f"`bench/conversations.py`, {result['started']}, release build of {result['commit']}, governance on, SQLite. One"
        " keep-alive connection, a plain chat call and a conversation turn (`conversation_id` + `message`) alternated"
        f" {result['turns']} times per history size, each next to two plain calls: one user message, and the same"
        " context the turn sends (what a client keeping its own history would send); turns rotate over"
        f" {result['conversations']} conversations built through the API. The context holds at most 100 path messages"
        " (`max_context_messages`). Conversations in memory: `conversations.cache_entries` 1000 (the default).",
        "",
        "| history at start (grew to) | context sent | plain, 1 message p50 | plain, same context p50 | turn p50 | turn − same context | turn − 1 message | turn p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['history']} ({row['grew_to']}) | {row['context_messages']} | {row['plain_p50']:.3f} | {row['same_p50']:.3f} |"
            f" {row['turn_p50']:.3f} | **{row['turn_p50'] - row['same_p50']:+.3f}** | {row['turn_p50'] - row['plain_p50']:+.3f} |"
            f" {row['turn_p99']:.3f} |"
        )
    hundred = next(row for row in result["rows"] if row["history"] == 100)
    added = hundred["turn_p50"] - hundred["same_p50"]
    over_one = hundred["turn_p50"] - hundred["plain_p50"]
    verdict = "**met**" if added <= 0.3 else "**missed**"
    verdict_one = "met" if over_one <= 0.3 else "missed"
    lines += [
        "",
        f"At 100 messages a turn adds **{added:+.3f} ms** at p50 over the plain call carrying the same context (target"
        f" ≤ 0.3 ms: {verdict}). Read against a one-message call instead it adds {over_one:+.3f} ms ({verdict_one}): most of"
        " that is the larger context itself, decoded from the client or read from memory, then encoded and sent upstream. On the turn's path, for a"
        " conversation in memory: no database read; the writes (both messages, the branch head, one transaction) are"
        " queued and land after the answer is sent.",
        "<!-- conversations:end -->",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--turns", type=int, default=1500, help="turns (and plain calls) per history size")
    parser.add_argument("--conversations", type=int, default=50, help="conversations per history size")
    parser.add_argument("--histories", default="10,100,500")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="switchboard-conversations-")
    procs = bench.Processes()
    commit = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    result = {
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), "commit": commit,
        "turns": args.turns, "conversations": args.conversations, "rows": [],
    }
    try:
        upstream_port = bench.free_port()
        procs.start("nginx-upstream", ["nginx", "-c", bench.write_upstream_config(workdir, upstream_port)], os.path.join(workdir, "nginx.log"))
        target = bench.start_switchboard(args, procs, workdir, "conversations", upstream_port, True, extra=(
            "conversations:", "  max_messages: 100000", "  max_conversations_per_user: 100000",
        ))
        key = target["headers"][0].split("Bearer ", 1)[1]
        client = Client(target["port"], key)
        # Warm up both paths.
        warm = build(client, 4, 2)
        measure(client, warm, 200)
        for history in (int(value) for value in args.histories.split(",")):
            bench.log(f"building {args.conversations} conversations of {history} messages")
            ids = build(client, history, args.conversations)
            bench.log(f"timing {args.turns} turns at {history} messages")
            row = measure(client, ids, args.turns)
            row["history"] = history
            row["grew_to"] = history + 2 * -(-args.turns // args.conversations)
            result["rows"].append(row)
            bench.log(json.dumps(row))
        text = render(result)
        print(json.dumps(result, indent=1))
        print(text)
        if not args.no_write:
            bench.write_section("conversations", text)
    finally:
        procs.stop_all()


if __name__ == "__main__":
    main()
