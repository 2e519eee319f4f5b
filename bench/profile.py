#!/usr/bin/env python3
"""Instruction counts of one poller run under valgrind's callgrind, for docs/benchmarks.md.
Instruction counts repeat on a busy machine where CPU seconds do not.

    profile.py --poller BIN [--instances 10000] [--mode json|text|ndjson|db-first|db-unchanged|replay] [--out DIR]

The binary should be stripped of debug info (`strip -g`): valgrind 3.19 cannot read Swift's.
Prints the total and the top functions (callgrind_annotate, inclusive of nothing).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile

from common import HERE, ROOT, start, measure
from db_bench import MONGO, free_port
from run import aws_env


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--poller", required=True)
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--mode", default="json")
    parser.add_argument("--out", default=tempfile.mkdtemp())
    args = parser.parse_args()
    server, text = start(os.path.join(HERE, "replay_server.py"), ["--instances", str(args.instances)])
    env = aws_env("http://127.0.0.1:%d" % json.loads(text)["port"])
    fmt = args.mode if args.mode in ("json", "text", "ndjson", "csv") else "json"
    spool = tempfile.mkdtemp()
    argv = [args.poller, "--format", fmt, "--region", "us-east-1", "--log-level", "error", "--lock-file", os.path.join(spool, "lock")]
    mongo = None
    expect = 0
    if args.mode in ("db-first", "db-unchanged", "replay"):
        port = free_port()
        mongo, _ = start(MONGO, ["--no-unique-checks", "--port", str(port)])
        env = dict(env, CM_DB_URI="mongodb://127.0.0.1:%d/?serverSelectionTimeoutMS=2000" % port, CM_DB_NAME="bench", CM_SPOOL_DIR=spool)
        if args.mode == "db-unchanged":
            measure(argv, env)
        if args.mode == "replay":
            mongo.send_signal(signal.SIGUSR1)
            measure(argv, env, expect=5)
            mongo.send_signal(signal.SIGUSR2)
            tiny, ttext = start(os.path.join(HERE, "replay_server.py"), ["--instances", "1"])
            url = "http://127.0.0.1:%d" % json.loads(ttext)["port"]
            env = dict(env, AWS_ENDPOINT_URL=url, AWS_EC2_METADATA_SERVICE_ENDPOINT=url)
            argv[argv.index("us-east-1")] = "eu-west-1"
    out = os.path.join(args.out, "callgrind.%s.out" % args.mode)
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    annotate = subprocess.run(["callgrind_annotate", "--threshold=99", out], stdout=subprocess.PIPE, text=True).stdout
    lines = annotate.split("\n")
    print("\n".join(l for l in lines[:60] if l.strip()))
    print("profile: %s" % out, file=sys.stderr)
    server.stdin.close()
    if mongo:
        mongo.stdin.close()


if __name__ == "__main__":
    main()
