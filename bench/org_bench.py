"""The organization case of `make bench` (issue 23): `--org-role --all-regions` against the
loopback organization of `Tests/Support/org_server.py`, where every AWS call takes the same
latency, at two concurrencies. The target: wall time at most 1.5 x (slices x latency /
concurrency) + 2 s, the slices alone spread over the workers, and peak RSS under 60 MiB.

    org_bench.py --poller BIN [--accounts 200] [--regions 17] [--latency-ms 150]
                 [--concurrency 8,32] [--runs 1] [--out FILE]   (prints the Markdown section)
"""
import argparse
import datetime
import json
import os
import sys
import tempfile

from common import ROOT, measure, median, start

RSS_TARGET_MIB = 60


def org_case(poller, accounts=200, regions=17, latency_ms=150, instances=50, concurrencies=(8, 32), runs=1):
    """{concurrency: {"wall", "rss", "cpu", "bound", "slices"}}: medians of `runs` runs, each a
    complete, correct poll (exit 0, every slice's instances on stdout)."""
    server, text = start(os.path.join(ROOT, "Tests", "Support", "org_server.py"),
                         ["--accounts", str(accounts - 1), "--regions", str(regions), "--latency-ms", str(latency_ms),
                          "--instances", str(instances)])
    info = json.loads(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and not k.startswith("CM_")}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:%d" % info["port"], AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               AWS_ACCESS_KEY_ID=info["key"]["AccessKeyId"], AWS_SECRET_ACCESS_KEY=info["key"]["SecretAccessKey"])
    slices = accounts * regions
    out = {}
    try:
        for c in concurrencies:
            argv = [poller, "--org-role", info["role"], "--all-regions", "--concurrency", str(c), "--format", "ndjson",
                    "--log-level", "error", "--lock-file", tempfile.mktemp()]
            measured = [measure(argv, env) for _ in range(runs)]
            expected_bytes = min(m["bytes"] for m in measured)
            if expected_bytes == 0:
                raise RuntimeError("the organization poll printed nothing")
            out[c] = {k: median([m[k] for m in measured]) for k in ("wall", "cpu", "rss")}
            out[c]["bound"] = 1.5 * (slices * latency_ms / 1000.0 / c) + 2
            out[c]["slices"] = slices
            print("org %d accounts x %d regions --concurrency %-3d wall %.2fs (bound %.2fs) cpu %.2fs rss %.1f MiB"
                  % (accounts, regions, c, out[c]["wall"], out[c]["bound"], out[c]["cpu"], out[c]["rss"]), file=sys.stderr)
    finally:
        server.stdin.close()
        server.wait()
    return out


def org_section(results, accounts=200, regions=17, latency_ms=150, instances=50):
    lines = ["## An organization (issue 23)", "",
             "`--org-role inventory-reader --all-regions --format ndjson` against `Tests/Support/org_server.py`: %d accounts" % accounts,
             "(the caller's and %d members) x %d regions, %d instances a slice, every call (ListAccounts, GetCallerIdentity,"
             % (accounts - 1, regions, instances),
             "AssumeRole, DescribeRegions, DescribeInstances) answered after %d ms, SigV4 scope and keys checked." % latency_ms,
             "The bound is 1.5 x (slices x %d ms / concurrency) + 2 s: the slices alone, spread over the workers." % latency_ms,
             "Measured on %s, one run each; the release build." % datetime.date.today().isoformat(), "",
             "| --concurrency | slices | wall | bound | met | CPU | peak RSS (< %d MiB) |" % RSS_TARGET_MIB,
             "|---:|---:|---:|---:|:---:|---:|---:|"]
    for c in sorted(results):
        r = results[c]
        met = r["wall"] <= r["bound"] and r["rss"] < RSS_TARGET_MIB
        lines.append("| %d | %d | %.2f s | %.2f s | %s | %.2f s | %.1f MiB |"
                     % (c, r["slices"], r["wall"], r["bound"], "yes" if met else "**no**", r["cpu"], r["rss"]))
    return lines


def replace_section(path, lines):
    """Puts the section in `path` in place of an earlier one (before the targets), or appends it."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    head, marker = "## An organization (issue 23)", "\n## Targets (issue 12)"
    if head in text:
        before, rest = text.split(head, 1)
        after = rest[rest.index("\n## "):] if "\n## " in rest else "\n"
        text = before.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + after
    elif marker in text:
        before, after = text.split(marker, 1)
        text = before.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n" + marker + after
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines) + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--poller", required=True)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--concurrency", default="8,32")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--out", help="the benchmarks file whose organization section to replace")
    args = parser.parse_args()
    results = org_case(args.poller, args.accounts, args.regions, args.latency_ms,
                       concurrencies=[int(c) for c in args.concurrency.split(",")], runs=args.runs)
    lines = org_section(results, args.accounts, args.regions, args.latency_ms)
    if args.out:
        replace_section(args.out, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
