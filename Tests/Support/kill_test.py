#!/usr/bin/env python3
"""The crash-consistency test (issues 9, 23): kill -9 the poller at random moments, with the
database up and down at random, then let clean runs finish; the database must then hold the
history that what each run saw implies (Tests/Support/kill_oracle.py).

    kill_test.py --binary PATH [--runs 50] [--writers N] [--seed N] [--world-state FILE --region R ...]

With --writers N (default 1, or KILL_WRITERS) each run starts N pollers at the same moment on
the same world, as N hosts sharing one database: each with its own lock file and spool
directory, each killed at its own random moment or left to finish. The clean runs at the end
run every writer, so each writer's spool is replayed.

Without --world-state it starts its own world (world.py --size demo). The database is its
own mongo_server.py. Between runs it changes the world at random (stop, start, terminate,
tags, launches, vanish) and reads the world back with boto3 as the run's snapshot. The seed
(default 9, or KILL_SEED) is printed so a failure reproduces. Exit status: 0 all checks held,
1 a check failed, 2 the harness itself failed. Every wait is bounded; servers listen on
loopback only and stop with the driver.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from kill_oracle import CHECKS, Oracle  # noqa: E402
from kill_oracle_check import oracle_self_check  # noqa: E402
from kill_harness import Servers, SpoolWatch, World, read_database  # noqa: E402
from serving import HarnessError  # noqa: E402

RUN_TIMEOUT = 90  # a run not killed that outlives this is a hang: killed and reported


class Runner:
    """`writers` pollers sharing one database, as that many hosts would: each with its own lock
    file and spool directory, all started at the same moment on the same world."""

    def __init__(self, args, servers, tmp):
        self.args, self.servers, self.tmp = args, servers, tmp
        self.writers = args.writers
        self.spools = [os.path.join(tmp, "spool%d" % w) for w in range(self.writers)]
        self.database = "killtest_%d" % os.getpid()
        creds = servers.world["role_credentials"]
        self.env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        self.env.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                        AWS_SESSION_TOKEN=creds["Token"], AWS_ENDPOINT_URL=servers.world["moto_url"],
                        AWS_EC2_METADATA_DISABLED="true", CM_DB_URI="mongodb://127.0.0.1:%d/" % servers.port,
                        CM_DB_NAME=self.database)

    def command(self, writer):
        return [self.args.binary, "--region", ",".join(self.args.region), "--format", "ndjson", "--page-size", str(self.args.page_size),
                "--lock-file", os.path.join(self.tmp, "lock%d" % writer), "--log-level", "info"]

    def run(self, index, snapshot, kills=None, db="up", toggle_at=None):
        """One run: every writer started at once; writer w killed after kills[w] seconds
        (None: left to finish). Returns the run with one entry per writer."""
        kills = kills or [None] * self.writers
        # Each run polls in a second of its own, so poll times order the runs without ties.
        now = time.time()
        time.sleep(math.floor(now) + 1.05 - now)
        files = [tuple(open(os.path.join(self.tmp, "run%03d.w%d.%s" % (index, w, s)), "w+b") for s in ("out", "err"))
                 for w in range(self.writers)]
        watches = [SpoolWatch(d) for d in self.spools]
        start = time.time()
        procs = [subprocess.Popen(self.command(w), env=dict(self.env, CM_SPOOL_DIR=self.spools[w]), stdin=subprocess.DEVNULL,
                                  stdout=files[w][0], stderr=files[w][1]) for w in range(self.writers)]
        toggler = None
        if toggle_at is not None:
            toggler = threading.Timer(toggle_at, lambda: self.servers.set_db(not self.servers.db_up))
            toggler.start()
        killed = [False] * self.writers
        while any(p.poll() is None for p in procs):
            elapsed = time.time() - start
            for w, p in enumerate(procs):
                if p.poll() is None and elapsed >= (kills[w] if kills[w] is not None else RUN_TIMEOUT):
                    p.kill()
                    p.wait(30)
                    # A writer that ended in the same instant was not killed: its exit counts.
                    killed[w] = kills[w] is not None and p.returncode == -9
            time.sleep(0.005)
        end = time.time()
        if toggler:
            toggler.cancel()
            toggler.join(5)
        created = [watch.stop() for watch in watches]
        return {"index": index, "start": start, "end": end, "db": db, "toggle_at": toggle_at, "snapshot": snapshot,
                "writers": [self.outcome(w, procs[w], files[w], killed[w], kills[w], created[w]) for w in range(self.writers)]}

    def outcome(self, w, p, files, killed, kill_after, created):
        out, err = files
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        out.close()
        err.close()
        printed, printed_at = {}, set()
        for line in stdout.splitlines():
            try:
                doc = json.loads(line)
                printed.setdefault(doc["Region"], []).append(doc["InstanceId"])
                printed_at.add(doc["PolledAt"])
            except (ValueError, KeyError, TypeError):
                printed_at.add("unreadable line: " + line[:80])
        spool = sorted(os.listdir(self.spools[w])) if os.path.isdir(self.spools[w]) else []
        return {"writer": w, "killed": killed, "kill_after": kill_after,
                "exit": 124 if (p.returncode == -9 and not killed) else p.returncode,
                "spool_after": spool, "created": created, "printed": printed if not killed else {},
                "printed_at": sorted(printed_at) if not killed else [], "stderr_tail": stderr[-2000:]}


def spool_counts(names):
    kinds = {}
    for name in names:
        kind = ".tmp" if name.endswith(".tmp") else ".ndjson" if name.endswith(".ndjson") else "other"
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())) or "empty"


def chaos_plan(rng, runs, duration, writers=1):
    """Per run: when to kill each writer (None: never), the database's state, and a mid-run
    toggle. The first writer's draws come first, in the order of the one-writer test, so a
    seed plans the same single-writer runs it always did."""
    plan = []
    draw = lambda: None if rng.random() < 0.3 else rng.uniform(0.0, 1.3 * duration)
    for i in range(runs):
        kill_after = draw()
        db = rng.choices(["up", "down", "up->down", "down->up"], [0.45, 0.3, 0.15, 0.1])[0]
        toggle_at = rng.uniform(0.0, duration) if "->" in db else None
        plan.append(([kill_after] + [draw() for _ in range(writers - 1)], db, toggle_at))
    return plan


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--writers", type=int, default=int(os.environ.get("KILL_WRITERS") or 1),
                        help="pollers per run, as hosts sharing the database, each with its own lock and spool (default 1)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("KILL_SEED") or 9))
    parser.add_argument("--world-state", help="reuse a running world.py (its state file)")
    parser.add_argument("--region", action="append", help="regions to use (empty ones; default two of our own)")
    parser.add_argument("--instances", type=int, default=20, help="instances seeded per region")
    parser.add_argument("--page-size", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    args.region = args.region or ["ca-central-1", "sa-east-1"]
    if args.writers < 1:
        parser.error("--writers must be at least 1")
    return args


def describe(run):
    """`w0 killed at 0.41s exit -  spool: 1 .ndjson | w1 ran to the end exit 5 ...`."""
    parts = []
    for w in run["writers"]:
        what = "killed at %.2fs" % w["kill_after"] if w["killed"] else "ran to the end"
        parts.append("w%d %-16s exit %-3s spool: %s" % (w["writer"], what, w["exit"] if not w["killed"] else "-", spool_counts(w["spool_after"])))
    return " | ".join(parts)


def chaos(args, servers, tmp, rng):
    """The runs: one clean, `args.runs` with kills and database faults, two clean (every
    writer each time, so each writer's spool is replayed into the database). Returns the
    runs, the chaos world, the database as read back and the oracle's failures."""
    for region in args.region:
        servers.control("/ec2/seed", {"region": region, "count": args.instances})
    world = World(servers, args.region, rng)
    runner = Runner(args, servers, tmp)
    runs = []
    # A first clean run measures how long a run takes; kills land across that span.
    snapshot = world.snapshot()
    runs.append(runner.run(0, snapshot))
    duration = max(0.2, runs[0]["end"] - runs[0]["start"])
    for index, (kills, db, toggle_at) in enumerate(chaos_plan(rng, args.runs, duration, args.writers), start=1):
        world.mutate(snapshot)
        snapshot = world.snapshot()
        servers.set_db(not db.startswith("down"))
        runs.append(runner.run(index, snapshot, kills, db, toggle_at))
        if world.snapshot() != snapshot:
            raise HarnessError("the world changed during run %d" % index)
        print("run %3d  db %-8s %s" % (index, db, describe(runs[-1])), flush=True)
    servers.set_db(True)
    final = []
    for _ in range(2):
        world.mutate(snapshot)
        snapshot = world.snapshot()
        final.append(runner.run(len(runs), snapshot))
        runs.append(final[-1])
        print("clean run %d  %s" % (final[-1]["index"], describe(final[-1])), flush=True)
    db = read_database(servers, runner.database)
    with open(os.path.join(tmp, "evidence.json"), "w") as f:  # for a post-mortem: what the oracle judged
        json.dump({"runs": runs, "database": db}, f, default=str)
    failures = Oracle(runs, db, args.region).run(final)
    missed, made = oracle_self_check(runs, db, args.region, final)
    if missed:
        raise HarnessError("the oracle did not notice %s planted in the database" % ", ".join(missed))
    return runs, world, db, failures, made


def report(args, runs, world, db, failures, made, wall):
    """One line per check (with up to eight failures each) and the summary figures."""
    chaos_runs = runs[1:-2]
    ended = [w for r in chaos_runs for w in r["writers"] if not w["killed"]]
    killed_mid_poll = 0
    for before, run in zip(runs, runs[1:-2]):
        for w in run["writers"]:
            killed_mid_poll += w["killed"] and bool(set(w["spool_after"]) - set(before["writers"][w["writer"]]["spool_after"]))
    figures = {
        "seed": args.seed, "runs": len(chaos_runs), "writers": args.writers,
        "polls_started": sum(len(w) for w in (r["writers"] for r in chaos_runs)),
        "killed": sum(w["killed"] for r in chaos_runs for w in r["writers"]), "killed_mid_poll": killed_mid_poll,
        "db_down_runs": sum(r["db"] != "up" for r in chaos_runs), "world_changes": world.changes,
        "spool_set_aside": len([n for w in runs[-1]["writers"] for n in w["spool_after"] if not n.endswith((".tmp", ".ndjson"))]),
        "polls_recorded": len(db["polls"]), "events_checked": len(db["events"]), "instances_checked": len(db["instances"]),
        "exit_codes": {str(k): sum(w["exit"] == k for w in ended) for k in sorted({w["exit"] for w in ended})},
        "faults_planted_and_noticed": len(made), "failures": len(failures), "wall_seconds": round(time.time() - wall, 1),
    }
    by_check = {}
    for check, message in failures:
        by_check.setdefault(check, []).append(message)
    for check in CHECKS:
        messages = by_check.get(check, [])
        print("%-4s %-20s %s" % ("ok" if not messages else "FAIL", check, CHECKS[check]))
        for m in messages[:8]:
            print("       - " + m)
        if len(messages) > 8:
            print("       ... and %d more" % (len(messages) - 8))
    print("kill test summary: " + json.dumps(figures), flush=True)


def main():
    args = parse_arguments()
    print("kill test: seed %d (KILL_SEED=%d reproduces), %d runs, %d writer(s), regions %s"
          % (args.seed, args.seed, args.runs, args.writers, ",".join(args.region)), flush=True)
    wall = time.time()
    tmp = tempfile.mkdtemp(prefix="kill-test-")
    rng = random.Random(args.seed)
    servers = None
    try:
        servers = Servers(tmp, args.world_state)
        runs, world, db, failures, made = chaos(args, servers, tmp, rng)
    except HarnessError as e:
        print("kill test: harness error: %s (work dir %s)" % (e, tmp), flush=True)
        return 2
    finally:
        if servers:
            servers.close()
    report(args, runs, world, db, failures, made, wall)
    if not args.keep and not failures:
        subprocess.run(["rm", "-rf", tmp])
    else:
        print("work dir (runs' stdout/stderr, spool): %s" % tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
