#!/usr/bin/env python3
"""Runs the test command with a hang guard, so a stuck test fails `make test` with a diagnosis
instead of holding CI until its own limit with nothing to show.

    test-watch.py [--limit SECONDS] -- COMMAND...

COMMAND's output passes through unchanged. The Swift Testing lines it prints ("◇ Test x()
started.", "✔ Test x() passed after ...") tell which tests are running. If COMMAND has not
ended after the limit (TEST_HANG_LIMIT, default 1800 s; a whole run takes 4 to 6 minutes),
this prints the tests still running, the processes of the run, and a backtrace of every
thread of the test binary and of any poller still alive (gdb), then kills them all and exits
124. When COMMAND ends, any server it left behind is killed too, and its status is this
script's.
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
    """Copies COMMAND's output through; if our own stdout goes away, keeps draining so the
    tests never block on a full pipe."""
    for raw in iter(stream.readline, b""):
        try:
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
        except (BrokenPipeError, OSError):
            pass
        progress.feed(raw.decode("utf-8", "replace"))


def processes():
    """pid -> (pid, ppid, sid, age, args) of every process."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,sid=,etimes=,args="], capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5:
            rows[int(parts[0])] = (int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]), parts[4])
    return rows


def ours(root):
    """Every process of the run: the session COMMAND leads (children keep it through their own
    process groups), and anything below `root` that left it. Servers orphaned by an exited
    test binary are found by session."""
    rows = processes()
    found = {pid: row for pid, row in rows.items() if row[2] == root and pid != root}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for row in rows.values():
            if row[1] == parent and row[0] not in found:
                found[row[0]] = row
                frontier.append(row[0])
    return list(found.values())


def kill_all(root, reaped):
    targets = [row[0] for row in ours(root)] + ([] if reaped else [root])
    for pid in targets:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def backtrace(pid):
    try:
        done = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "set pagination off",
                               "-ex", "thread apply all bt 30"],
                              capture_output=True, text=True, timeout=120)
        return done.stdout + (done.stderr if "ptrace" in done.stderr or not done.stdout else "")
    except (OSError, subprocess.TimeoutExpired) as error:
        return "(no backtrace: %s)" % error


def diagnose(root, limit, progress):
    say = lambda text: print(text, file=sys.stderr, flush=True)
    say("\ntest-watch: the test run has not ended after %d s; tests still running:" % limit)
    for line in progress.report() or ["  (none reported)"]:
        say(line)
    rows = ours(root)
    say("test-watch: processes:")
    for pid, ppid, _, age, args in rows:
        say("  %d (parent %d, %d s) %s" % (pid, ppid, age, args[:200]))
    for pid, _, _, _, args in rows:
        if ".xctest" in args or "inventory-poller " in args + " ":
            say("test-watch: threads of %d (%s):" % (pid, args[:120]))
            say(backtrace(pid))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=int(os.environ.get("TEST_HANG_LIMIT") or 1800))
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    progress = Progress()

    def stopped(signum, _frame):
        raise SystemExit(128 + signum)

    # A stop of this script (make's ^C, CI's SIGTERM) takes the tests and their servers with it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stopped)
    status, child, reaped = 1, None, False
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=relay, args=(child.stdout, progress), daemon=True).start()
        try:
            status = child.wait(timeout=args.limit)
            reaped = True
        except subprocess.TimeoutExpired:
            diagnose(child.pid, args.limit, progress)
            status = 124
    except SystemExit as stop:
        status = stop.code
    finally:
        if child is not None:
            kill_all(child.pid, reaped)
    sys.exit(status if status >= 0 else 128 - status)


if __name__ == "__main__":
    main()
