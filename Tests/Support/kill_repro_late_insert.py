#!/usr/bin/env python3
"""A reproduction, run by CrashConsistencyTests: with two writers, a spooled poll replayed late
inserts an instance that a newer, complete, live poll of the same slice by the other writer
had already found gone. The instance is then `Present` (no `vanished` event) until another
complete poll of the slice marks it vanished, dated to that later poll.

    kill_repro_late_insert.py --binary .build/debug/inventory-poller

Steps (one region, writers A and B, each with its own lock and spool):
  1. A and B poll (database up).            4. EC2 terminates X, then forgets it.
  2. EC2 launches X.                         5. B polls: complete, live; X is not in EC2.
  3. A polls with the database down: X is    6. A polls `--instance-ids <another>` (a selected
     spooled (exit 5).                          poll marks nothing vanished); first it replays
                                                its spool, which inserts X.
Exit 1 when X is `Present` after step 6 (the fault found), 0 when it is stored as vanished
on behalf of B's complete poll (`SliceCompletion`), 2 on a harness failure.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from kill_harness import Servers, read_database  # noqa: E402
from serving import HarnessError  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--region", default="eu-west-3")
    parser.add_argument("--world-state", help="reuse a running world.py (its state file)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="late-insert-")
    servers = None
    try:
        servers = Servers(tmp, args.world_state)
        seeded = servers.control("/ec2/seed", {"region": args.region, "count": 2})
        creds = servers.world["role_credentials"]
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        env.update(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"], AWS_SESSION_TOKEN=creds["Token"],
                   AWS_ENDPOINT_URL=servers.world["moto_url"], AWS_EC2_METADATA_DISABLED="true",
                   CM_DB_URI="mongodb://127.0.0.1:%d/" % servers.port, CM_DB_NAME="late")

        def poll(writer, *extra):
            now = time.time()
            time.sleep(math.floor(now) + 1.05 - now)
            p = subprocess.run([args.binary, "--region", args.region, "--format", "ndjson", "--lock-file", os.path.join(tmp, "lock" + writer)] + list(extra),
                               env=dict(env, CM_SPOOL_DIR=os.path.join(tmp, "spool" + writer)), capture_output=True, text=True, timeout=120)
            print("writer %s %s exit %d" % (writer, " ".join(extra), p.returncode), flush=True)

        poll("A")
        poll("B")
        x = servers.control("/ec2/change", {"region": args.region, "launch": 1})["launched"][0]
        servers.set_db(False)
        poll("A")
        servers.set_db(True)
        servers.control("/ec2/change", {"region": args.region, "terminate": [x]})
        servers.control("/ec2/change", {"region": args.region, "vanish": [x]})
        poll("B")
        poll("A", "--instance-ids", seeded["ids"][0])
        db = read_database(servers, "late")
        doc = next((d for d in db["instances"] if d["InstanceId"] == x), None)
        print("X = %s: %s" % (x, {k: doc.get(k) for k in ("Present", "LastPollId", "Rev")} if doc else "not stored"))
        print("X's events: %s" % [(e["Type"], e["PollId"]) for e in db["events"] if e["InstanceId"] == x])
        print("polls (id, Spooled): %s" % [(p["_id"], p.get("Spooled")) for p in sorted(db["polls"], key=lambda p: p["_id"])])
        return 1 if doc and doc.get("Present") else 0
    except HarnessError as e:
        print("harness error: %s" % e)
        return 2
    finally:
        if servers:
            servers.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
