#!/usr/bin/env python3
"""Instruction counts of one poller run under valgrind's callgrind, for docs/benchmarks.md
and the performance gate (`perf_gate.py`). Instruction counts repeat on a busy machine
where CPU seconds do not.

    profile.py --poller BIN [--instances 10000] [--mode json|text|ndjson|csv|db-first|db-unchanged|replay] [--out DIR]

The binary should be stripped of debug info (`strip -g`): valgrind 3.19 cannot read Swift's.
Prints the total and the top functions (callgrind_annotate, inclusive of nothing).

Only the poller runs under valgrind; the servers it polls are ordinary processes on loopback.
What would make two runs of one binary count differently is held fixed: the poller's whole
environment (no HOME with an ~/.aws/config, no caller's PATH or locale), Swift's hashing
seed (`SWIFT_DETERMINISTIC_HASHING`), one slice at a time (`--concurrency 1`), and libmongoc's
timers (a run under valgrind is slow enough to reach its heartbeat and its idle-socket check,
each one more round trip on some runs only).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from common import HERE, start, measure
from db_bench import MONGO, free_port
from run import aws_env

MODES = ("json", "text", "ndjson", "csv", "db-first", "db-unchanged", "replay")
DATABASE_MODES = ("db-first", "db-unchanged", "replay")
# libmongoc's timers pushed past any run: no heartbeat scan, no idle-socket ping mid-run.
MONGO_OPTIONS = "serverSelectionTimeoutMS=2000&heartbeatFrequencyMS=86400000&socketCheckIntervalMS=86400000"


def stop(proc, seconds=10):
    """Closes a helper server's stdin (its signal to stop), then waits; killed if it lingers."""
    if proc.poll() is None:
        try:
            proc.stdin.close()
            proc.wait(seconds)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


def wait_port(port, listening, seconds=30):
    """Until 127.0.0.1:port accepts connections (or refuses them, `listening=False`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(1)
            if (s.connect_ex(("127.0.0.1", port)) == 0) == listening:
                return
        time.sleep(0.05)
    sys.exit("port %d still %s after %ds" % (port, "closed" if listening else "open", seconds))


class Peers:
    """The servers profiled runs poll, all on loopback and all stopped on exit: the replay
    server with the fleet, a one-instance one (the replay run's own poll) and MongoDB wire
    peers (`mongo_server.py --no-unique-checks`, as the bench runs it)."""

    def __init__(self, instances):
        self.instances = instances
        self.procs = []
        self.urls = {}
        # Lock files, spools and each run's empty HOME; removed with the servers.
        self.root = tempfile.mkdtemp(prefix="profile-")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for proc in self.procs:
            stop(proc)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, instances):
        if instances not in self.urls:
            proc, text = start(os.path.join(HERE, "replay_server.py"), ["--instances", str(instances)])
            self.procs.append(proc)
            self.urls[instances] = "http://127.0.0.1:%d" % json.loads(text)["port"]
        return self.urls[instances]

    def database(self):
        """A fresh MongoDB wire peer, with a spool directory of its own."""
        port = free_port()
        proc, _ = start(MONGO, ["--no-unique-checks", "--port", str(port)])
        self.procs.append(proc)
        return Database(proc, port, tempfile.mkdtemp(prefix="spool-", dir=self.root))


class Database:
    def __init__(self, proc, port, spool):
        self.proc = proc
        self.port = port
        self.uri = "mongodb://127.0.0.1:%d/?%s" % (port, MONGO_OPTIONS)
        self.spool = spool
        self.polled = False

    def down(self):
        self.proc.send_signal(signal.SIGUSR1)
        wait_port(self.port, listening=False)

    def up(self):
        self.proc.send_signal(signal.SIGUSR2)
        wait_port(self.port, listening=True)


def environment(url, home):
    """The poller's whole environment: the replay server's endpoints and nothing of the
    caller's, so every machine and every run starts from the same bytes."""
    env = {k: v for k, v in aws_env(url).items() if k.startswith("AWS_")}
    env.update(PATH="/usr/bin:/bin", HOME=home, LANG="C.UTF-8", SWIFT_DETERMINISTIC_HASHING="1",
               AWS_CONFIG_FILE=os.path.join(home, "config"), AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, "credentials"))
    return env


def prepare(poller, mode, peers, database=None):
    """The command line and environment of the run to profile in `mode`, after the runs it
    needs first: a first poll for db-unchanged (unless `database` has one already), a poll
    spooled while the database is down for replay (which then replays it into an empty
    database, and polls one instance in another region, so it marks nothing vanished)."""
    work = tempfile.mkdtemp(prefix="%s-" % mode, dir=peers.root)
    env = environment(peers.url(peers.instances), work)
    fmt = mode if mode in ("json", "text", "ndjson", "csv") else "json"
    argv = [poller, "--format", fmt, "--region", "us-east-1", "--concurrency", "1", "--log-level", "error",
            "--lock-file", os.path.join(work, "lock")]
    if mode not in DATABASE_MODES:
        return argv, env
    database = database or peers.database()
    env = dict(env, CM_DB_URI=database.uri, CM_DB_NAME="bench", CM_SPOOL_DIR=database.spool)
    if mode == "db-unchanged" and not database.polled:
        measure(argv, env)
    if mode == "replay":
        if database.polled:
            sys.exit("replay needs a database of its own: it replays into an empty one")
        database.down()
        measure(argv, env, expect=5)
        database.up()
        if not any(name.endswith(".ndjson") for name in os.listdir(database.spool)):
            sys.exit("the poll was not spooled: %s" % os.listdir(database.spool))
        tiny = peers.url(1)
        env = dict(env, AWS_ENDPOINT_URL=tiny, AWS_EC2_METADATA_SERVICE_ENDPOINT=tiny)
        argv[argv.index("us-east-1")] = "eu-west-1"
    database.polled = True
    return argv, env


def callgrind(argv, env, out):
    """Runs argv under callgrind (stdout and stderr dropped) and returns its instruction
    count: every thread of the poller, nothing of any other process. A run that does not
    end with status 0 is an error: it would count less and pass for a gain."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("valgrind is not installed (make setup installs it)")
    run = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=" + out] + argv, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if run.returncode != 0:
        tail = run.stderr.decode(errors="replace").strip().split("\n")[-5:]
        raise RuntimeError("%s exited %d under callgrind:\n%s" % (" ".join(argv[:3]), run.returncode, "\n".join(tail)))
    for line in open(out):
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError("no total in %s" % out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--poller", required=True)
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--mode", default="json", choices=MODES)
    parser.add_argument("--out", default=tempfile.mkdtemp())
    args = parser.parse_args()
    with Peers(args.instances) as peers:
        argv, env = prepare(os.path.abspath(args.poller), args.mode, peers)
        out = os.path.join(args.out, "callgrind.%s.out" % args.mode)
        total = callgrind(argv, env, out)
    annotate = subprocess.run(["callgrind_annotate", "--threshold=99", out], stdout=subprocess.PIPE, text=True).stdout
    lines = annotate.split("\n")
    print("\n".join(l for l in lines[:60] if l.strip()))
    print("total: %d instructions" % total)
    print("profile: %s" % out, file=sys.stderr)


if __name__ == "__main__":
    main()
