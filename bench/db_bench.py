"""The database side of `make bench`: the poller's first and unchanged polls, a spooled poll
replayed, and the original design with its database step, all into the same MongoDB wire
peer (`Tests/Support/mongo_server.py`, unique checks off, so the server is not what is
measured: only the client's CPU and RSS are)."""
import os
import signal
import socket
import sys
import tempfile

from common import ROOT, HERE, start, measure, median

MONGO = os.path.join(ROOT, "Tests", "Support", "mongo_server.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def trips(log):
    out = {}
    for entry in log:
        if entry.get("collection"):
            key = "%s %s" % (entry["command"], entry["collection"])
            out.setdefault(key, [0, 0])
            out[key][0] += 1
            out[key][1] += entry["count"]
    return out


def one_round(poller, env, tiny_url):
    """Against a fresh server: first poll, unchanged poll, a poll spooled while the server is
    down, and the next run's replay of it (that run then polls one instance in another
    region, so it marks nothing of the replayed region vanished)."""
    import pymongo
    port = free_port()
    mongo, _ = start(MONGO, ["--no-unique-checks", "--port", str(port)])
    try:
        spool = tempfile.mkdtemp()
        uri = "mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=2000" % port
        denv = dict(env, CM_DB_URI=uri, CM_DB_NAME="bench", CM_SPOOL_DIR=spool)
        argv = [poller, "--format", "json", "--region", "us-east-1", "--log-level", "error", "--lock-file", os.path.join(spool, "lock")]
        client = pymongo.MongoClient("127.0.0.1", port)
        first = measure(argv, denv)
        log1 = client.admin.command("testCommandLog")["log"]
        second = measure(argv, denv)
        log2 = client.admin.command("testCommandLog")["log"][len(log1):]
        client.close()
        mongo.send_signal(signal.SIGUSR1)
        spooled = measure(argv, denv, expect=5)
        mongo.send_signal(signal.SIGUSR2)
        if not any(name.endswith(".ndjson") for name in os.listdir(spool)):
            raise RuntimeError("the poll was not spooled: %s" % os.listdir(spool))
        renv = dict(denv, AWS_ENDPOINT_URL=tiny_url, AWS_EC2_METADATA_SERVICE_ENDPOINT=tiny_url)
        replay = measure([poller, "--format", "json", "--region", "eu-west-1", "--log-level", "error",
                          "--lock-file", os.path.join(spool, "lock")], renv)
        if any(name.endswith(".ndjson") for name in os.listdir(spool)):
            raise RuntimeError("the spooled poll was not replayed: %s" % os.listdir(spool))
        return {"first": first, "second": second, "spooled": spooled, "replay": replay,
                "trips1": trips(log1), "trips2": trips(log2)}
    finally:
        mongo.stdin.close()
        mongo.wait()


def original_round(env):
    """The boto3 original with its pymongo step, into a fresh server."""
    port = free_port()
    mongo, _ = start(MONGO, ["--no-unique-checks", "--port", str(port)])
    try:
        denv = dict(env, CM_DB_URI="mongodb://127.0.0.1:%d/" % port, CM_DB_NAME="bench")
        return measure([sys.executable, os.path.join(HERE, "boto3_mongo_inventory.py"), "us-east-1"], denv)
    finally:
        mongo.stdin.close()
        mongo.wait()


def db_path(poller, env, runs, tiny_url, original=True):
    rounds = [one_round(poller, env, tiny_url) for _ in range(runs)]
    out = {k: {m: median([r[k][m] for r in rounds]) for m in ("wall", "cpu", "rss")} for k in ("first", "second", "spooled", "replay")}
    out["trips1"], out["trips2"] = rounds[0]["trips1"], rounds[0]["trips2"]
    if original:
        originals = [original_round(env) for _ in range(runs)]
        out["original"] = {m: median([r[m] for r in originals]) for m in ("wall", "cpu", "rss")}
    return out
