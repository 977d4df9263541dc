#!/usr/bin/env python3
"""Resident memory of a process (VmRSS from /proc/PID/status), optionally with its descendants.

    bench/rss.py PID            # VmRSS of PID in MB
    bench/rss.py --tree PID     # PID and every descendant, summed (LiteLLM's worker processes)
    bench/rss.py --watch 10 PID # the largest value seen in 10 s, sampled every 100 ms
"""

import argparse
import os
import time


def vmrss_kb(pid):
    """VmRSS of one process in kB, or 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def children(pid):
    """Direct children of pid, from /proc/PID/task/*/children."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    found.extend(int(child) for child in handle.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return found


def descendants(pid):
    """pid's descendants, depth first."""
    out = []
    stack = children(pid)
    while stack:
        child = stack.pop()
        out.append(child)
        stack.extend(children(child))
    return out


def rss_mb(pid, tree=False):
    pids = [pid] + (descendants(pid) if tree else [])
    return sum(vmrss_kb(p) for p in pids) / 1024.0


def watch(pid, seconds, tree=False, interval=0.1, stop=None):
    """Largest RSS (MB) seen over `seconds`, or until `stop` (a threading.Event) is set."""
    peak = 0.0
    deadline = time.time() + seconds
    while time.time() < deadline and not (stop is not None and stop.is_set()):
        peak = max(peak, rss_mb(pid, tree))
        time.sleep(interval)
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pid", type=int)
    parser.add_argument("--tree", action="store_true", help="add every descendant process")
    parser.add_argument("--watch", type=float, metavar="SECONDS", help="report the peak over this long")
    args = parser.parse_args()
    if args.watch:
        print(f"{watch(args.pid, args.watch, args.tree):.1f}")
    else:
        print(f"{rss_mb(args.pid, args.tree):.1f}")


if __name__ == "__main__":
    main()
