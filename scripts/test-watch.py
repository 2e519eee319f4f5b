#!/usr/bin/env python3
"""Runs the test command with a hang guard, so a stuck test fails `make test` with a diagnosis
instead of holding CI until its own limit with nothing to show.

    test-watch.py [--limit SECONDS] -- COMMAND...

COMMAND's output passes through unchanged. The Swift Testing lines it prints ("◇ Test x()
started.", "✔ Test x() passed after ...") tell which tests are running. If COMMAND has not
ended after the limit (TEST_HANG_LIMIT, default 1800 s; a whole run takes 4 to 6 minutes),
this prints the tests still running, the process tree, and a backtrace of every thread of the
test binary and of any poller still alive, then kills the whole tree and exits 124. When
COMMAND ends, any server it left behind is killed too, and its status is this script's.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time

STARTED = re.compile(r"^\S+ (Test|Suite) (.+?) started\.")
ENDED = re.compile(r"^\S+ (Test|Suite) (.+?) (?:with \d+ test cases? )?(passed|failed|skipped)")


class Progress:
    """The tests that have started and not yet ended, from the runner's own lines."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = {}

    def feed(self, line):
        if " Test case passing" in line:
            return
        started, ended = STARTED.match(line), ENDED.match(line)
        with self.lock:
            if started:
                self.running[started.group(2)] = (started.group(1), time.monotonic())
            elif ended:
                self.running.pop(ended.group(2), None)

    def report(self):
        now = time.monotonic()
        with self.lock:
            items = sorted(self.running.items(), key=lambda kv: kv[1][1])
        return ["  %s %s (running %d s)" % (kind, name, now - since) for name, (kind, since) in items]


def relay(stream, progress):
    for raw in iter(stream.readline, b""):
        sys.stdout.buffer.write(raw)
        sys.stdout.buffer.flush()
        progress.feed(raw.decode("utf-8", "replace"))


def descendants(root):
    """(pid, ppid, age, args) of every process below `root`. Test children run in process
    groups of their own, so the tree is walked by parent, not by group."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,etimes=,args="], capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            rows[int(parts[0])] = (int(parts[0]), int(parts[1]), int(parts[2]), parts[3])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        for row in rows.values():
            if row[1] == parent:
                found.append(row)
                frontier.append(row[0])
    return found


def kill_tree(root):
    for pid, _, _, _ in descendants(root) + [(root, 0, 0, "")]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def backtrace(pid):
    try:
        return subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "set pagination off",
                               "-ex", "thread apply all bt 30"],
                              capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        return "(no backtrace: %s)" % error


def diagnose(root, limit, progress):
    say = lambda text: print(text, file=sys.stderr, flush=True)
    say("\ntest-watch: the test run has not ended after %d s; tests still running:" % limit)
    for line in progress.report() or ["  (none reported)"]:
        say(line)
    rows = descendants(root)
    say("test-watch: processes:")
    for pid, ppid, age, args in rows:
        say("  %d (parent %d, %d s) %s" % (pid, ppid, age, args[:200]))
    for pid, _, _, args in rows:
        if ".xctest" in args or "inventory-poller " in args + " ":
            say("test-watch: threads of %d (%s):" % (pid, args[:120]))
            say(backtrace(pid))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=int(os.environ.get("TEST_HANG_LIMIT", "1800")))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    progress = Progress()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    reader = threading.Thread(target=relay, args=(child.stdout, progress), daemon=True)
    reader.start()

    def stopped(signum, _frame):
        raise SystemExit(128 + signum)

    # A stop of this script (make's ^C, CI's SIGTERM) takes the tests and their servers with it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stopped)
    try:
        status = child.wait(timeout=args.limit)
    except subprocess.TimeoutExpired:
        diagnose(child.pid, args.limit, progress)
        status = 124
    except SystemExit as stop:
        status = stop.code
    kill_tree(child.pid)
    reader.join(timeout=5)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
