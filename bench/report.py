"""Markdown for `make bench`: the tables, issue 12's targets marked met or not with the ratio,
and the profile notes kept by hand in `bench/profile.md`."""
import os

from common import HERE

POLLER, BOTO = "inventory-poller", "boto3 (original design)"
MB = 1.048576  # MiB → MB


def client_table(results, sizes):
    lines = ["| client | instances | wall (s) | CPU (s) | peak RSS (MiB) | boto3 CPU ÷ client CPU | boto3 RSS ÷ client RSS |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        base = results[(BOTO, n)]
        for (name, size), r in results.items():
            if size == n:
                lines.append("| %s | %d | %.2f | %.3f | %.1f | %.1f× | %.1f× |" % (
                    name, n, r["wall"], r["cpu"], r["rss"], base["cpu"] / r["cpu"], base["rss"] / r["rss"]))
    return lines


def db_table(db, db_sizes, runs):
    lines = ["| run | instances | runs | wall (s) | CPU (s) | peak RSS (MiB) |", "|---|---:|---:|---:|---:|---:|"]
    labels = [("first", "poller, first poll (all new)"), ("second", "poller, nothing changed"),
              ("spooled", "poller, database down: poll spooled (exit 5)"),
              ("replay", "poller, next run: replay of the spooled poll (+ a 1-instance poll)"),
              ("original", "boto3 + pymongo (original design with its database step), first poll")]
    for n in db_sizes:
        for key, label in labels:
            if key in db[n]:
                r = db[n][key]
                lines.append("| %s | %d | %d | %.2f | %.3f | %.1f |" % (label, n, runs if n == db_sizes[0] else 1, r["wall"], r["cpu"], r["rss"]))
    first = db[db_sizes[0]]
    lines += ["", "Round trips (documents) per collection at %d:" % db_sizes[0], ""]
    for label, key in (("first poll", "trips1"), ("unchanged poll", "trips2")):
        lines.append("- %s: %s" % (label, ", ".join("%s: %d (%d)" % (k, v[0], v[1]) for k, v in sorted(first[key].items()))))
    return lines


# Issue 12 set its CPU limits in seconds on this machine type, where boto3 took this long at
# 10,000 instances (`make bench` of 2026-11-27, the run that met them). Issue 24 asks that they
# be judged as ratios to boto3 measured in the same run, so that a slower or busier machine
# (boto3 slower too) moves the limit with it: limit × boto3 today ÷ this figure.
REFERENCE_BOTO3_CPU = 11.238


def targets(results, sizes, db, db_sizes, formats, cold):
    boto = results.get((BOTO, 10000))
    scale = boto["cpu"] / REFERENCE_BOTO3_CPU if boto else None
    out = ["Each CPU limit of issue 12 is judged as a ratio to boto3 in this run (issue 24): boto3 took %s at"
           " 10,000 instances here, against %.3f s when the limits were set, so each limit in seconds is scaled by"
           " %s. The limits as set, in seconds, are shown beside them." % (
               "%.3f s" % boto["cpu"] if boto else "(not measured)", REFERENCE_BOTO3_CPU, "%.3f" % scale if scale else "1"), "",
           "| target (10,000 instances unless said) | limit as set | limit as a ratio to boto3 | measured | boto3 ÷ measured | |",
           "|---|---|---:|---|---:|---|"]

    def row(name, limit, value, unit="s", fmt="%.3f"):
        if value is None:
            out.append("| %s | %s | | not measured | | |" % (name, limit))
            return
        bound = float(limit.split()[-2])
        if unit == "MB":
            ok = value < bound
            out.append("| %s | %s | | %s %s | | %s |" % (name, limit, fmt % value, unit, "met" if ok else "**missed**"))
            return
        if not boto:
            ok = value <= bound
            out.append("| %s | %s | | %s %s | | %s |" % (name, limit, fmt % value, unit, "met" if ok else "**missed**"))
            return
        needed = REFERENCE_BOTO3_CPU / bound
        achieved = boto["cpu"] / value
        ok = achieved >= needed
        out.append("| %s | %s | ≥ %.1f× (≤ %.3f s today) | %s %s | %.1f× | %s |" % (
            name, limit, needed, bound * scale, fmt % value, unit, achieved, "met" if ok else "**missed**"))

    get = lambda name, n=10000: results.get((name, n))
    row("`--format json`, no database", "≤ 0.12 s", get(POLLER) and get(POLLER)["cpu"])
    for f in ("text", "ndjson", "csv"):
        if f not in formats:
            out.append("| `--format %s`, no database | ≤ 0.18 s | | not yet (the binary has no `--format %s`) | | |" % (f, f))
            continue
        r = get("%s --format %s" % (POLLER, f))
        row("`--format %s`, no database" % f, "≤ 0.18 s", r and r["cpu"])
    d = db.get(10000)
    row("first poll into the database", "≤ 0.40 s", d and d["first"]["cpu"])
    row("poll into the database, nothing changed", "≤ 0.25 s", d and d["second"]["cpu"])
    row("replay of a spooled 10,000-instance poll", "≤ 0.40 s", d and d["replay"]["cpu"])
    rss = []
    for n in (10000, 50000):
        rss += [("%s, %d" % (name, n), r["rss"] * MB) for (name, size), r in results.items() if size == n and name.startswith(POLLER)]
        if n in db:
            rss += [("database %s, %d" % (k, n), db[n][k]["rss"] * MB) for k in ("first", "second", "spooled", "replay")]
    if rss:
        worst = max(rss, key=lambda x: x[1])
        row("peak RSS, every poller path at 10,000 and 50,000 (worst: %s)" % worst[0], "< 45 MB", worst[1], "MB", "%.1f")
        if 50000 not in sizes or 50000 not in db:
            out.append("| (50,000 not measured on every path in this run) | | | | | |")
    if d and "original" in d:
        ratio = d["original"]["cpu"] / d["first"]["cpu"]
        out.append("| whole job vs the original with its database step (first poll) | ≥ 40× less CPU | ≥ 40× | %.3f s vs %.2f s | %.1f× | %s |"
                   % (d["first"]["cpu"], d["original"]["cpu"], ratio, "met" if ratio >= 40 else "**missed**"))
    out.append("| cold start of `--version` | < 20 ms | | %.1f ms | | %s |" % (cold * 1000, "met" if cold < 0.020 else "**missed**"))
    return out


def report(header, results, sizes, db, db_sizes, formats, cold, cold_runs, runs, bytes_per_instance):
    lines = ["# Benchmarks", "", header, "",
             "Each client polls the same replay server (`bench/replay_server.py`): IMDSv2, STS and EC2",
             "DescribeInstances in pages of 1000, about %.0f bytes of XML per instance, `NextToken`s with `+ / =`." % bytes_per_instance,
             "Figures are medians of %d runs. CPU is user+sys of the client process (getrusage); RSS is its peak." % runs,
             "Wall time is shown but means little on this shared machine.", ""]
    lines += client_table(results, sizes)
    lines += ["", "Cold start of `inventory-poller --version`: median %.1f ms over %d runs." % (cold * 1000, cold_runs)]
    if db:
        lines += ["", "## The database path", "",
                  "Every run writes into `Tests/Support/mongo_server.py` (mockupdb + mongomock, unique checks off), a fresh",
                  "server per round; the original design writes into the same peer. Only the client's CPU is counted, so the",
                  "stand-in server's own speed is not what is measured. `--format json` on stdout in every run.", ""]
        lines += db_table(db, db_sizes, runs)
    lines += ["", "## Targets (issue 12)", ""] + targets(results, sizes, db, db_sizes, formats, cold)
    profile = os.path.join(HERE, "profile.md")
    if os.path.exists(profile):
        lines += [""] + open(profile).read().rstrip("\n").split("\n")
    return lines
