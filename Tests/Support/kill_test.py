#!/usr/bin/env python3
"""The crash-consistency test (issue 9): kill -9 the poller at random moments, with the
database up and down at random, then let clean runs finish; the database must then hold
exactly what a run-by-run replay of what each run saw implies (Tests/Support/kill_oracle.py).

    kill_test.py --binary PATH [--runs 50] [--seed N] [--world-state FILE --region R ...]

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
from kill_harness import Servers, World, read_database  # noqa: E402
from serving import HarnessError  # noqa: E402

RUN_TIMEOUT = 90  # a run not killed that outlives this is a hang: killed and reported


class Runner:
    def __init__(self, args, servers, tmp):
        self.args, self.servers, self.tmp = args, servers, tmp
        self.spool = os.path.join(tmp, "spool")
        self.database = "killtest_%d" % os.getpid()
        creds = servers.world["role_credentials"]
        self.env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        self.env.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                        AWS_SESSION_TOKEN=creds["Token"], AWS_ENDPOINT_URL=servers.world["moto_url"],
                        AWS_EC2_METADATA_DISABLED="true", CM_DB_URI="mongodb://127.0.0.1:%d/" % servers.port,
                        CM_DB_NAME=self.database, CM_SPOOL_DIR=self.spool)
        self.command = [args.binary, "--region", ",".join(args.region), "--format", "ndjson", "--page-size", str(args.page_size),
                        "--lock-file", os.path.join(tmp, "lock"), "--log-level", "info"]

    def run(self, index, snapshot, kill_after=None, db="up", toggle_at=None):
        # Each run polls in a second of its own, so poll times order the runs without ties.
        now = time.time()
        time.sleep(math.floor(now) + 1.05 - now)
        out, err = (open(os.path.join(self.tmp, "run%03d.%s" % (index, s)), "w+b") for s in ("out", "err"))
        start = time.time()
        p = subprocess.Popen(self.command, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        toggler = None
        if toggle_at is not None:
            toggler = threading.Timer(toggle_at, lambda: self.servers.set_db(not self.servers.db_up))
            toggler.start()
        killed = False
        try:
            p.wait(kill_after if kill_after is not None else RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            killed = kill_after is not None
            p.wait(30)
        end = time.time()
        if toggler:
            toggler.cancel()
            toggler.join(5)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        printed, printed_at = {}, set()
        for line in stdout.splitlines():
            try:
                doc = json.loads(line)
                printed.setdefault(doc["Region"], []).append(doc["InstanceId"])
                printed_at.add(doc["PolledAt"])
            except (ValueError, KeyError, TypeError):
                printed_at.add("unreadable line: " + line[:80])
        spool = sorted(os.listdir(self.spool)) if os.path.isdir(self.spool) else []
        return {"index": index, "start": start, "end": end, "killed": killed, "kill_after": kill_after, "db": db,
                "exit": 124 if (p.returncode == -9 and not killed) else p.returncode, "snapshot": snapshot,
                "spool_after": spool, "printed": printed if not killed else {},
                "printed_at": sorted(printed_at) if not killed else [], "stderr_tail": stderr[-2000:]}


def spool_counts(names):
    kinds = {}
    for name in names:
        kind = ".tmp" if name.endswith(".tmp") else ".ndjson" if name.endswith(".ndjson") else "other"
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())) or "empty"


def chaos_plan(rng, runs, duration):
    """Per run: when to kill (None: never), the database's state, and a mid-run toggle."""
    plan = []
    for i in range(runs):
        kill_after = None if rng.random() < 0.3 else rng.uniform(0.0, 1.3 * duration)
        db = rng.choices(["up", "down", "up->down", "down->up"], [0.45, 0.3, 0.15, 0.1])[0]
        toggle_at = rng.uniform(0.0, duration) if "->" in db else None
        plan.append((kill_after, db, toggle_at))
    return plan


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("KILL_SEED") or 9))
    parser.add_argument("--world-state", help="reuse a running world.py (its state file)")
    parser.add_argument("--region", action="append", help="regions to use (empty ones; default two of our own)")
    parser.add_argument("--instances", type=int, default=20, help="instances seeded per region")
    parser.add_argument("--page-size", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    args.region = args.region or ["ca-central-1", "sa-east-1"]
    return args


def chaos(args, servers, tmp, rng):
    """The runs: one clean, `args.runs` with kills and database faults, two clean. Returns
    the runs, the chaos world, the database as read back and the oracle's failures."""
    for region in args.region:
        servers.control("/ec2/seed", {"region": region, "count": args.instances})
    world = World(servers, args.region, rng)
    runner = Runner(args, servers, tmp)
    runs = []
    # A first clean run measures how long a run takes; kills land across that span.
    snapshot = world.snapshot()
    runs.append(runner.run(0, snapshot))
    duration = max(0.2, runs[0]["end"] - runs[0]["start"])
    for index, (kill_after, db, toggle_at) in enumerate(chaos_plan(rng, args.runs, duration), start=1):
        world.mutate(snapshot)
        snapshot = world.snapshot()
        servers.set_db(not db.startswith("down"))
        runs.append(runner.run(index, snapshot, kill_after, db, toggle_at))
        if world.snapshot() != snapshot:
            raise HarnessError("the world changed during run %d" % index)
        r = runs[-1]
        print("run %3d  db %-8s %-16s exit %-3s spool: %s" % (index, db, "killed at %.2fs" % kill_after if r["killed"] else "ran to the end",
                                                             r["exit"], spool_counts(r["spool_after"])), flush=True)
    servers.set_db(True)
    final = []
    for _ in range(2):
        world.mutate(snapshot)
        snapshot = world.snapshot()
        final.append(runner.run(len(runs), snapshot))
        runs.append(final[-1])
        print("clean run %d  exit %s  spool: %s" % (final[-1]["index"], final[-1]["exit"], spool_counts(final[-1]["spool_after"])), flush=True)
    db = read_database(servers, runner.database)
    with open(os.path.join(tmp, "evidence.json"), "w") as f:  # for a post-mortem: what the oracle judged
        json.dump({"runs": runs, "database": db}, f, default=str)
    failures = Oracle(runs, db, args.region).run(final, final[-1]["spool_after"])
    missed = oracle_self_check(runs, db, args.region, final)
    if missed:
        raise HarnessError("the oracle did not notice %s planted in the database" % ", ".join(missed))
    return runs, world, db, failures


def report(args, runs, world, db, failures, wall):
    """One line per check (with up to eight failures each) and the summary figures."""
    chaos_runs = runs[1:-2]
    figures = {
        "seed": args.seed, "runs": len(chaos_runs), "killed": sum(r["killed"] for r in chaos_runs),
        "killed_mid_poll": sum(r["killed"] and bool(set(r["spool_after"]) - set(p["spool_after"])) for p, r in zip(runs, runs[1:-2])),
        "db_down_runs": sum(r["db"] != "up" for r in chaos_runs), "world_changes": world.changes,
        "spool_set_aside": len([n for n in runs[-1]["spool_after"] if not n.endswith((".tmp", ".ndjson"))]),
        "polls_recorded": len(db["polls"]), "events_checked": len(db["events"]), "instances_checked": len(db["instances"]),
        "exit_codes": {str(k): sum(r["exit"] == k for r in chaos_runs if not r["killed"])
                       for k in sorted({r["exit"] for r in chaos_runs if not r["killed"]})},
        "failures": len(failures), "wall_seconds": round(time.time() - wall, 1),
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
    print("kill test: seed %d (KILL_SEED=%d reproduces), %d runs, regions %s" % (args.seed, args.seed, args.runs, ",".join(args.region)), flush=True)
    wall = time.time()
    tmp = tempfile.mkdtemp(prefix="kill-test-")
    rng = random.Random(args.seed)
    servers = None
    try:
        servers = Servers(tmp, args.world_state)
        runs, world, db, failures = chaos(args, servers, tmp, rng)
    except HarnessError as e:
        print("kill test: harness error: %s (work dir %s)" % (e, tmp), flush=True)
        return 2
    finally:
        if servers:
            servers.close()
    report(args, runs, world, db, failures, wall)
    if not args.keep and not failures:
        subprocess.run(["rm", "-rf", tmp])
    else:
        print("work dir (runs' stdout/stderr, spool): %s" % tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
