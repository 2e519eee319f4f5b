#!/usr/bin/env python3
"""`make bench`: inventory-poller against the boto3 original and the AWS CLI, on the same
replay server, at several fleet sizes; the database path; cold start. Writes Markdown.

    run.py --poller BIN --out docs/benchmarks.md [--sizes 1000,10000,50000] [--runs 3]
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Support"))
from serving import HarnessError, wait_for_file  # noqa: E402


def start(script, args):
    port_file = os.path.join(tempfile.mkdtemp(), "port")
    proc = subprocess.Popen([sys.executable, script, "--port-file", port_file] + args, stdin=subprocess.PIPE)
    try:
        return proc, wait_for_file(port_file, 300, proc)
    except HarnessError as e:
        proc.kill()
        sys.exit(str(e))


def measure(argv, env):
    """Runs argv to completion; returns wall seconds, user+sys CPU seconds, peak RSS (MiB), stdout bytes."""
    start_time = time.monotonic()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=devnull)
        size = 0
        while True:
            chunk = proc.stdout.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start_time
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("%s exited %d" % (argv[0], os.waitstatus_to_exitcode(status)))
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024.0, "bytes": size}


def median(runs, key):
    return statistics.median(r[key] for r in runs)


def machine():
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return "%s, %d cores, %.0f GiB, %s %s, Python %s" % (model or platform.processor(), os.cpu_count(), mem,
                                                         platform.system(), platform.release(), platform.python_version())


def db_path(poller, env, n):
    """One poll of n instances into the test MongoDB server; round trips from its own command log."""
    mongo, text = start(os.path.join(ROOT, "Tests", "Support", "mongo_server.py"), ["--no-unique-checks"])
    port = int(text)
    try:
        spool = tempfile.mkdtemp()
        denv = dict(env, CM_DB_URI="mongodb://127.0.0.1:%d/" % port, CM_DB_NAME="bench", CM_SPOOL_DIR=spool)
        first = measure([poller, "--format", "json", "--region", "us-east-1", "--lock-file", os.path.join(spool, "lock")], denv)
        import pymongo
        client = pymongo.MongoClient("127.0.0.1", port)
        log1 = client.admin.command("testCommandLog")["log"]
        second = measure([poller, "--format", "json", "--region", "us-east-1", "--lock-file", os.path.join(spool, "lock")], denv)
        log2 = client.admin.command("testCommandLog")["log"][len(log1):]

        def trips(log):
            out = {}
            for entry in log:
                if entry.get("collection"):
                    key = "%s %s" % (entry["command"], entry["collection"])
                    out.setdefault(key, [0, 0])
                    out[key][0] += 1
                    out[key][1] += entry["count"]
            return out
        return first, second, trips(log1), trips(log2)
    finally:
        mongo.stdin.close()
        mongo.wait()


def targets(results, sizes, db, cold):
    """The issue's targets, each marked met or missed, with the margin."""
    out = ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
    def row(name, measured, ok):
        out.append("| %s | %s | %s |" % (name, measured, "met" if ok else "**missed**"))
    poller, boto = "inventory-poller", "boto3 (original design)"
    if 10000 in sizes:
        p, b = results[(poller, 10000)], results[(boto, 10000)]
        row("CPU at 10,000 at least 40× below boto3", "%.1f× (%.3f s vs %.2f s)" % (b["cpu"] / p["cpu"], p["cpu"], b["cpu"]), b["cpu"] / p["cpu"] >= 40)
        row("CPU at 10,000 under 0.5 s", "%.3f s" % p["cpu"], p["cpu"] < 0.5)
        row("peak RSS at 10,000 under 50 MB", "%.1f MiB" % p["rss"], p["rss"] * 1.048576 < 50)
        if 50000 in sizes:
            grow = results[(poller, 50000)]["rss"] - p["rss"]
            row("RSS growth 10,000 → 50,000 under 15 MB", "%+.1f MiB" % grow, grow * 1.048576 < 15)
    if db:
        trips = db[2]
        worst = max((v[1] / v[0] for k, v in trips.items() if k.startswith("update")), default=0)
        row("at most one round trip per 1000 documents per collection", "at most %.0f documents per write round trip" % worst, worst <= 1000)
        unchanged = db[3].get("update instances", [0, 0])[1]
        row("unchanged instances cost no document write", "second poll: %d instance write statements (one updateMany per page)" % unchanged,
            unchanged <= (max(sizes) + 999) // 1000 + 1)
    row("cold start under 20 ms", "%.1f ms" % (cold * 1000), cold < 0.020)
    return out + [""] + PROFILE


PROFILE = """
## Profile

Profiled with valgrind's callgrind (instructions, repeatable on a busy machine) on a
10,000-instance `--format json` poll of the replay server, with debug info stripped
(`strip -g`) because valgrind 3.19 cannot read Swift's. The first build took 5.72 G instructions.
The largest costs were JSON escaping, the XML scanner and Foundation-based timestamp and
integer conversion. The scanner now uses memchr/memcmp on a borrowed buffer. Escaping works
a word at a time. Timestamps and integers convert without Foundation, and pages decode one
reservation at a time. With those changes the tree path takes 3.42 G. For `--format json`
without a database, pages are rendered from XML straight to JSON bytes by the same shape table,
with no value tree: 2.61 G. What remains is mostly the scanner (~15%), escaping (~10%), member
lookup and reference counting.
""".strip("\n").split("\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--poller", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-size", type=int, default=10000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    aws = shutil.which("aws")
    results = {}
    bytes_per_instance = None
    for n in sizes:
        server, text = start(os.path.join(HERE, "replay_server.py"), ["--instances", str(n)])
        info = json.loads(text)
        bytes_per_instance = info["bytes"] / n
        url = "http://127.0.0.1:%d" % info["port"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CM_")}
        env.update(AWS_ENDPOINT_URL=url, AWS_EC2_METADATA_SERVICE_ENDPOINT=url, AWS_REGION="us-east-1",
                   AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1")
        clients = [("inventory-poller", [args.poller, "--format", "json", "--region", "us-east-1", "--log-level", "error",
                                          "--lock-file", tempfile.mktemp()]),
                   ("boto3 (original design)", [sys.executable, os.path.join(HERE, "boto3_inventory.py"), "us-east-1"])]
        if aws:
            clients.append(("aws ec2 describe-instances", [aws, "ec2", "describe-instances", "--output", "json", "--page-size", "1000"]))
        for name, argv in clients:
            runs = [measure(argv, env) for _ in range(args.runs)]
            results[(name, n)] = {k: median(runs, k) for k in ("wall", "cpu", "rss", "bytes")}
            print("%-28s N=%-6d wall %.2fs cpu %.2fs rss %.1f MiB" % (name, n, results[(name, n)]["wall"], results[(name, n)]["cpu"],
                                                                      results[(name, n)]["rss"]), file=sys.stderr)
        if n == args.db_size:
            db = db_path(args.poller, env, n)
        server.stdin.close()
        server.wait()

    cold = []
    for _ in range(max(5, args.runs * 5)):
        t = time.monotonic()
        subprocess.run([args.poller, "--version"], stdout=subprocess.DEVNULL, check=True)
        cold.append(time.monotonic() - t)

    lines = ["# Benchmarks", "",
             "Measured by `make bench` on %s, %s." % (datetime.date.today().isoformat(), machine()), "",
             "Each client polls the same replay server (`bench/replay_server.py`): IMDSv2, STS and EC2",
             "DescribeInstances in pages of 1000, about %.0f bytes of XML per instance, `NextToken`s with `+ / =`." % bytes_per_instance,
             "Figures are medians of %d runs. CPU is user+sys of the client process; RSS is its peak." % args.runs, "",
             "| client | instances | wall (s) | CPU (s) | peak RSS (MiB) | boto3 CPU ÷ client CPU | boto3 RSS ÷ client RSS |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        base = results[("boto3 (original design)", n)]
        for (name, size), r in results.items():
            if size != n:
                continue
            lines.append("| %s | %d | %.2f | %.3f | %.1f | %s | %s |" % (
                name, n, r["wall"], r["cpu"], r["rss"],
                "%.1f×" % (base["cpu"] / r["cpu"]), "%.1f×" % (base["rss"] / r["rss"])))
    lines += ["", "Cold start of `inventory-poller --version`: median %.1f ms over %d runs." % (statistics.median(cold) * 1000, len(cold))]
    if "db" in locals():
        first, second, trips1, trips2 = db
        lines += ["", "## The database path (%d instances into `Tests/Support/mongo_server.py`)" % args.db_size, "",
                  "| poll | wall (s) | CPU (s) | peak RSS (MiB) | round trips (documents) per collection |", "|---|---:|---:|---:|---|"]
        for label, r, trips in (("first (all new)", first, trips1), ("second (nothing changed)", second, trips2)):
            desc = ", ".join("%s: %d (%d)" % (k, v[0], v[1]) for k, v in sorted(trips.items()))
            lines.append("| %s | %.2f | %.3f | %.1f | %s |" % (label, r["wall"], r["cpu"], r["rss"], desc))
        lines += ["", "`update instances` in the second poll is one `updateMany` per page that moves `LastSeen`: unchanged",
                  "instances cost no document write. The stand-in server is mongomock, so its wall time is not a",
                  "MongoDB figure; round trips are."]
    lines += targets(results, sizes, db if "db" in locals() else None, statistics.median(cold))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote %s" % args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
