#!/usr/bin/env python3
"""Holds many streamed chat completions open at once and reports the gateway's RSS meanwhile.

Opens `--streams` keep-alive connections in batches, sends a streamed request on each, and
waits until every one has received its 200 head and its first SSE chunk. With all of them open
(the upstream is slow, so none has finished), it samples the server's RSS, then closes them all.
Bounded in count and time. Prints one JSON object.

    bench/open_streams.py --port 18080 --pid 1234 --model slow --streams 2000
"""

import argparse
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rss  # noqa: E402


async def one_stream(port, request, opened, release, first_chunk_timeout):
    """Returns 'ok' once the first chunk arrived (after release: closes), or a failure label."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
    except (OSError, asyncio.TimeoutError):
        opened.append("connect")
        return
    try:
        writer.write(request)
        await writer.drain()
        data = b""
        deadline = time.time() + first_chunk_timeout
        while b"data:" not in data.split(b"\r\n\r\n", 1)[-1] or b"\r\n\r\n" not in data:
            left = deadline - time.time()
            if left <= 0:
                raise asyncio.TimeoutError
            piece = await asyncio.wait_for(reader.read(65536), left)
            if not piece:
                opened.append("closed")
                return
            data += piece
        status = int(data.split(b" ", 2)[1])
        opened.append("ok" if status == 200 else f"status {status}")
        await release.wait()
    except (OSError, asyncio.TimeoutError, ValueError, IndexError):
        opened.append("timeout")
    finally:
        writer.close()


async def run(args):
    body = json.dumps({"model": args.model, "stream": True, "messages": [{"role": "user", "content": "hold"}]}).encode()
    head = (
        f"POST {args.path} HTTP/1.1\r\nHost: 127.0.0.1:{args.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    for header in args.header:
        head += header + "\r\n"
    request = (head + "\r\n").encode() + body
    opened, release = [], asyncio.Event()
    before = rss.rss_mb(args.pid, args.tree)
    started = time.time()
    tasks = []
    for start in range(0, args.streams, args.batch):
        for _ in range(start, min(args.streams, start + args.batch)):
            tasks.append(asyncio.create_task(one_stream(args.port, request, opened, release, args.timeout)))
        await asyncio.sleep(0.02)
    while len(opened) < args.streams and time.time() - started < args.timeout:
        await asyncio.sleep(0.1)
    open_seconds = time.time() - started
    # Everything that will open has opened; sample for a second with all streams held.
    peak = 0.0
    for _ in range(10):
        peak = max(peak, rss.rss_mb(args.pid, args.tree))
        await asyncio.sleep(0.1)
    release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    outcomes = {}
    for outcome in opened:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return {
        "streams": args.streams,
        "open_ok": outcomes.get("ok", 0),
        "outcomes": outcomes,
        "seconds_to_open": round(open_seconds, 2),
        "rss_before_mb": round(before, 1),
        "rss_open_mb": round(peak, 1),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="server process whose RSS is read")
    parser.add_argument("--tree", action="store_true", help="count the server's child processes too")
    parser.add_argument("--path", default="/v1/chat/completions")
    parser.add_argument("--model", default="slow")
    parser.add_argument("--header", action="append", default=[], help="extra request header, 'name: value'")
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100, help="connections opened per 20 ms")
    parser.add_argument("--timeout", type=float, default=60, help="seconds for all streams to open")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
