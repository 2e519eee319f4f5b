#!/usr/bin/env python3
"""`make bench`: inventory-poller against the boto3 original and the AWS CLI, on the same
replay server, at several fleet sizes, in every output format; the database path (first poll,
unchanged poll, replay of a spooled poll) against the original design with its own database
step; cold start. Writes Markdown with each target of issue 12 marked met or not.

    run.py --poller BIN --out docs/benchmarks.md [--sizes 1000,10000,50000] [--runs 3]
           [--db-sizes 10000,50000]    (medians of --runs at the first, one run at the others)
           [--org-accounts 200] [--org-only]   (the organization case, bench/org_bench.py)
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from common import HERE, accepts_format, measure, median, start
from db_bench import db_path
from org_bench import org_case, org_section, replace_section
from report import report


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


def aws_env(url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CM_")}
    env.update(AWS_ENDPOINT_URL=url, AWS_EC2_METADATA_SERVICE_ENDPOINT=url, AWS_REGION="us-east-1",
               AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1")
    return env


def clients(args, formats):
    poller = lambda fmt: [args.poller, "--format", fmt, "--region", "us-east-1", "--log-level", "error", "--lock-file", tempfile.mktemp()]
    out = [("inventory-poller", poller("json"))]
    out += [("inventory-poller --format %s" % f, poller(f)) for f in formats if f != "json"]
    out.append(("boto3 (original design)", [sys.executable, os.path.join(HERE, "boto3_inventory.py"), "us-east-1"]))
    if shutil.which("aws"):
        out.append(("aws ec2 describe-instances", [shutil.which("aws"), "ec2", "describe-instances", "--output", "json", "--page-size", "1000"]))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--poller", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-sizes", default="10000,50000")
    parser.add_argument("--no-aws-cli", action="store_true", help="leave the AWS CLI out (it measures the same as boto3)")
    parser.add_argument("--org-accounts", type=int, default=200, help="accounts of the organization case (0: leave it out)")
    parser.add_argument("--org-only", action="store_true", help="only the organization case, replacing its section of --out")
    args = parser.parse_args()
    if args.org_only:
        replace_section(args.out, org_section(org_case(args.poller, args.org_accounts, runs=args.runs), args.org_accounts))
        print("wrote %s" % args.out, file=sys.stderr)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    db_sizes = [int(s) for s in args.db_sizes.split(",") if s]
    formats = ["json", "text", "ndjson"] + (["csv"] if accepts_format(args.poller, "csv") else [])
    tiny, tiny_text = start(os.path.join(HERE, "replay_server.py"), ["--instances", "1"])
    tiny_url = "http://127.0.0.1:%d" % json.loads(tiny_text)["port"]
    results, db, bytes_per_instance = {}, {}, None
    for n in sorted(set(sizes) | set(db_sizes)):
        server, text = start(os.path.join(HERE, "replay_server.py"), ["--instances", str(n)])
        info = json.loads(text)
        bytes_per_instance = info["bytes"] / n
        env = aws_env("http://127.0.0.1:%d" % info["port"])
        if n in sizes:
            for name, argv in clients(args, formats):
                if args.no_aws_cli and name.startswith("aws "):
                    continue
                runs = [measure(argv, env) for _ in range(args.runs)]
                results[(name, n)] = {k: median([r[k] for r in runs]) for k in ("wall", "cpu", "rss", "bytes")}
                print("%-36s N=%-6d wall %.2fs cpu %.3fs rss %.1f MiB" % (name, n, results[(name, n)]["wall"], results[(name, n)]["cpu"],
                                                                          results[(name, n)]["rss"]), file=sys.stderr)
        if n in db_sizes:
            first = n == db_sizes[0]
            db[n] = db_path(args.poller, env, args.runs if first else 1, tiny_url, original=first)
            for k in ("first", "second", "spooled", "replay", "original"):
                if k in db[n]:
                    print("database %-8s N=%-6d cpu %.3fs rss %.1f MiB" % (k, n, db[n][k]["cpu"], db[n][k]["rss"]), file=sys.stderr)
        server.stdin.close()
        server.wait()
    tiny.stdin.close()
    tiny.wait()

    org = org_case(args.poller, args.org_accounts, runs=1 if args.runs < 3 else 3) if args.org_accounts else None

    cold = []
    for _ in range(max(5, args.runs * 5)):
        t = time.monotonic()
        subprocess.run([args.poller, "--version"], stdout=subprocess.DEVNULL, check=True)
        cold.append(time.monotonic() - t)

    header = "Measured by `make bench` on %s, %s." % (datetime.date.today().isoformat(), machine())
    lines = report(header, results, sizes, db, db_sizes, formats, median(cold), len(cold), args.runs, bytes_per_instance)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    if org:
        replace_section(args.out, org_section(org, args.org_accounts))
    print("wrote %s" % args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
