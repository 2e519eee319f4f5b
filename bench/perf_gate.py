#!/usr/bin/env python3
"""`make perf-gate`: a gate on speed that noise cannot trip. Counts the poller's instructions
under callgrind (`profile.py`) on fixed inputs and compares each path with the committed
baseline; more than THRESHOLD percent more on any path fails (exit 1, one line per path).

    perf_gate.py --poller BIN --baseline bench/perf-baseline.json [--threshold 5] [--jobs 2]
    perf_gate.py --poller BIN --baseline bench/perf-baseline.json --update    (`make perf-baseline`)

Paths, at 10,000 instances of the bench's replay server: `--format json`, `text` and `csv`; a
first poll and an unchanged poll into the MongoDB wire peer; a spooled poll replayed into an
empty database. The release binary is counted, stripped of debug info (valgrind 3.19 cannot
read Swift's). An improvement past the threshold is a note: the baseline is updated on
purpose (`--update`), and committed with its reason.
"""
import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import ROOT
from profile import Peers, callgrind, prepare

INSTANCES = 10000
# Two lanes of about equal length: the database lane's runs follow each other (the unchanged
# poll needs the first one's database); the replay gets a database of its own.
LANES = [("json", "text", "csv", "replay"), ("db-first", "db-unchanged")]
PATHS = ["json", "text", "csv", "db-first", "db-unchanged", "replay"]


def command_output(argv):
    try:
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def toolchain():
    return command_output(["swift", "--version"]).split("\n")[0]


def run_lane(poller, lane, peers, out):
    """Counts each path of `lane` in turn; the database paths of a lane share one database."""
    counts = {}
    database = None
    for path in lane:
        if path in ("db-first", "db-unchanged"):
            database = database or peers.database()
        argv, env = prepare(poller, path, peers, database if path != "replay" else None)
        started = time.monotonic()
        counts[path] = callgrind(argv, env, os.path.join(out, "callgrind.%s.out" % path))
        print("perf-gate: %-13s %15s instructions (%.0f s)" % (path, "{:,}".format(counts[path]), time.monotonic() - started),
              file=sys.stderr, flush=True)
    return counts


def count(poller, jobs):
    """Every path's instructions. The lanes run side by side when `jobs` > 1: what is
    counted is instructions, which other processes on the machine do not change."""
    out = tempfile.mkdtemp(prefix="perf-gate-")
    stripped = os.path.join(out, "inventory-poller")
    shutil.copy(poller, stripped)
    subprocess.run(["strip", "-g", stripped], check=True)
    try:
        with Peers(INSTANCES) as peers:
            peers.url(INSTANCES)
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                lanes = [pool.submit(run_lane, stripped, lane, peers, out) for lane in LANES]
                counts = {}
                for lane in lanes:
                    counts.update(lane.result())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {path: counts[path] for path in PATHS}


def compare(baseline, counts, threshold):
    """Lines to print, and whether any path regressed past `threshold` percent."""
    lines, failed = [], False
    for path in PATHS:
        new = counts[path]
        old = baseline["paths"].get(path)
        if old is None:
            lines.append("perf-gate: %s has no baseline (%s instructions): run `make perf-baseline`" % (path, "{:,}".format(new)))
            failed = True
            continue
        change = 100.0 * (new - old) / old
        if change > threshold:
            lines.append("perf-gate: REGRESSION %s: %s -> %s instructions (%+.2f%%, limit +%g%%)"
                         % (path, "{:,}".format(old), "{:,}".format(new), change, threshold))
            failed = True
        elif change < -threshold:
            lines.append("perf-gate: note: %s improved: %s -> %s instructions (%+.2f%%); consider `make perf-baseline` "
                         "and committing it with the reason" % (path, "{:,}".format(old), "{:,}".format(new), change))
        else:
            lines.append("perf-gate: ok %s: %s -> %s instructions (%+.2f%%)" % (path, "{:,}".format(old), "{:,}".format(new), change))
    return lines, failed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--poller", required=True)
    parser.add_argument("--baseline", required=True)
    parser.add_argument("--threshold", type=float, default=5.0, help="percent more instructions that fails a path")
    parser.add_argument("--jobs", type=int, default=2, help="lanes counted at once")
    parser.add_argument("--update", action="store_true", help="write the counts as the new baseline")
    args = parser.parse_args()
    baseline = None
    if not args.update:
        # Read first: a missing baseline is known before minutes of counting.
        try:
            with open(args.baseline) as f:
                baseline = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit("perf-gate: no readable baseline (%s): take one with `make perf-baseline`" % e)
    started = time.monotonic()
    counts = count(os.path.abspath(args.poller), args.jobs)
    elapsed = time.monotonic() - started
    if args.update:
        commit = command_output(["git", "rev-parse", "--short", "HEAD"])
        # Only what goes into the binary counts as a change to the commit it was taken at.
        if command_output(["git", "status", "--porcelain", "--", "Sources", "Package.swift", "Package.resolved"]):
            commit += " (with uncommitted changes to the sources)"
        baseline = {
            "about": "Instructions of one poller run per path under callgrind (bench/perf_gate.py); "
                     "`make perf-gate` fails on more than the threshold. Update with `make perf-baseline`.",
            "toolchain": toolchain(),
            "valgrind": command_output(["valgrind", "--version"]),
            "taken": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": commit,
            "instances": INSTANCES,
            "threshold_percent": args.threshold,
            "paths": counts,
        }
        with open(args.baseline, "w") as f:
            json.dump(baseline, f, indent=2)
            f.write("\n")
        for path in PATHS:
            print("perf-gate: baseline %-13s %15s instructions" % (path, "{:,}".format(counts[path])))
        print("perf-gate: wrote %s in %.0f s; commit it with the reason for the new baseline" % (args.baseline, elapsed))
        return 0
    lines, failed = compare(baseline, counts, args.threshold)
    print("\n".join(lines))
    here = toolchain()
    if here != baseline.get("toolchain"):
        print("perf-gate: warning: baseline taken with %r, this is %r; a compiler change moves the counts"
              % (baseline.get("toolchain"), here))
    print("perf-gate: %s in %.0f s (baseline of %s, commit %s)" % ("FAILED" if failed else "passed", elapsed,
                                                                   baseline.get("taken"), baseline.get("commit")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
