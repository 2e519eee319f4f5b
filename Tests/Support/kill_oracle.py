"""The crash-consistency oracle: what the database must hold after a series of killed runs.

It knows nothing of the poller's code. Its inputs are what the kill test observed from outside:
for each run, the world as moto described it (boto3, before the run), whether the run was
killed, its exit status and the spool directory's listing after it; and, at the end, the
database as pymongo reads it. It then replays the runs itself, in poll order, by the README's
rules ("The database"), and compares.

What a run recorded:
  - a region whose poll record says `ok`, or where the poll marked something vanished, was
    polled completely: every instance of the run's snapshot is an observation, and instances
    absent from it vanish;
  - any other region (a killed run, an interrupted poll recovered from its `.tmp`) recorded
    some of the snapshot's instances and marks nothing vanished. Which ones is read from the
    traces an observation leaves (an event of that poll, or `LastPollId`); every such
    observation must be in the run's snapshot, and the replay must then produce exactly the
    events and instance documents found. An observation that leaves no trace changes nothing.
"""
import datetime
import json

CHECKS = {
    "1-poll-ids": "every poll id belongs to exactly one run, one poll per run",
    "1-recorded": "every poll that ended normally (0/4/5) or was durably spooled is in `polls`",
    "1-poll-record": "a poll record's per-region outcome and counts match the world it polled",
    "2-duplicates": "no two events for the same (instance, poll, type)",
    "3-observation": "every recorded observation is in the world snapshot of its run",
    "3-false-vanish": "`vanished` only for an instance absent from the run's world, from a complete slice",
    "3-unjustified-event": "no event that the run-by-run replay does not imply",
    "3-event-detail": "each event's fields (State, From/To, Changes, LastState, Time) match the replay",
    "4-lost-event": "every event the replay implies is stored",
    "4-instances": "the `instances` collection equals the replay's (Present, State, LastSeen, LastPollId, ...)",
    "5-final-view": "the clean run exits 0, prints the world, and the database's present instances equal the world",
    "6-spool-drained": "after the clean runs the spool holds no pending `.ndjson` and no `.tmp`",
    "7-exit-codes": "every run not killed exits 0, 4 or 5 (no crash, no hang)",
    "7-printed": "every run not killed printed exactly the world it polled, each line with its poll's time",
}


def poll_time(poll_id):
    """`20261125T114521Z-...` -> epoch seconds."""
    stamp = poll_id.split("-", 1)[0]
    return int(datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


def epoch(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return int(value.replace(tzinfo=datetime.timezone.utc).timestamp())
    return int(datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())


def state_of(instance):
    return (instance.get("State") or {}).get("Name")


def norm(value):
    """JSON values compared by content: BSON ints/floats, dates and boto3's datetimes alike."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def field_diff(old, new):
    """Top-level fields whose value differs, as the README's `changed` defines it."""
    return sorted(k for k in set(old) | set(new) if norm(old.get(k)) != norm(new.get(k)))


class Oracle:
    def __init__(self, runs, db, regions):
        self.runs = runs
        self.db = db
        self.regions = regions
        self.failures = []
        self.polls = {p["_id"]: p for p in db["polls"]}
        self.events = [e for e in db["events"] if e.get("Region") in regions]
        self.instances = {(i["Region"], i["InstanceId"]): i for i in db["instances"] if i.get("Region") in regions}

    def fail(self, check, message):
        self.failures.append((check, message))

    # Which run made which poll.
    def map_polls(self):
        ids = set(self.polls) | {e["PollId"] for e in self.events} | {i.get("LastPollId") for i in self.instances.values()}
        for run in self.runs:
            for name in run["spool_after"]:
                ids.add(name.split(".", 1)[0])
        ids.discard(None)
        self.run_of = {}
        for pid in sorted(ids):
            t = poll_time(pid)
            owners = [r["index"] for r in self.runs if int(r["start"]) <= t <= r["end"]]
            if len(owners) != 1:
                self.fail("1-poll-ids", "poll %s belongs to %d runs" % (pid, len(owners)))
                continue
            self.run_of[pid] = owners[0]
        self.pid_of = {}
        for pid, index in self.run_of.items():
            if index in self.pid_of:
                self.fail("1-poll-ids", "run %d made two polls: %s and %s" % (index, self.pid_of[index], pid))
            self.pid_of[index] = pid

    def check_runs(self):
        for run in self.runs:
            pid = self.pid_of.get(run["index"])
            if run["killed"]:
                committed = [n for n in run["spool_after"] if n.endswith(".ndjson") and self.run_of.get(n.split(".", 1)[0]) == run["index"]]
                if committed and committed[0].split(".", 1)[0] not in self.polls:
                    self.fail("1-recorded", "run %d was killed after spooling %s durably, but its poll is not in `polls`" % (run["index"], committed[0]))
                continue
            if run["exit"] not in (0, 4, 5):
                self.fail("7-exit-codes", "run %d (db %s) exited %s: %s" % (run["index"], run["db"], run["exit"], run["stderr_tail"][-300:]))
                continue
            if pid is None or pid not in self.polls:
                self.fail("1-recorded", "run %d exited %d but its poll %s is not in `polls`" % (run["index"], run["exit"], pid))
                continue
            stamp = datetime.datetime.fromtimestamp(poll_time(pid), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if run["printed_at"] != [stamp]:
                self.fail("7-printed", "run %d printed PolledAt %s, its poll is at %s" % (run["index"], run["printed_at"][:3], stamp))
            for region in self.regions:
                printed, world = run["printed"].get(region, []), run["snapshot"][region]
                if len(printed) != len(set(printed)) or set(printed) != set(world):
                    self.fail("7-printed", "run %d printed %d lines for %s, the world had %d instances" % (run["index"], len(printed), region, len(world)))

    # The observations each poll recorded, and where it marked vanished.
    def observations(self, run, pid):
        record = self.polls.get(pid)
        outcomes = {o.get("Region"): o for o in (record or {}).get("Regions", [])}
        traces = {}
        for e in self.events:
            if e["PollId"] == pid:
                traces.setdefault(e["Region"], {}).setdefault(e["Type"], set()).add(e["InstanceId"])
        seen_last = {}
        for (region, iid), doc in self.instances.items():
            if doc.get("LastPollId") == pid:
                seen_last.setdefault(region, set()).add(iid)
        plan = {}
        for region in self.regions:
            world = run["snapshot"][region]
            outcome = outcomes.get(region)
            vanished = traces.get(region, {}).get("vanished", set())
            ok = outcome is not None and outcome.get("Status") == "ok"
            # A killed run may have marked a complete region before its poll record was written,
            # and a recovered `.tmp` then records the slice as failed: the vanish stands if true.
            if outcome is not None and not ok and vanished and not run["killed"]:
                self.fail("3-false-vanish", "poll %s marked %s vanished in %s, whose slice failed" % (pid, sorted(vanished), region))
            if outcome is not None and ok and int(outcome.get("InstanceCount", -1)) != len(world):
                self.fail("1-poll-record", "poll %s says %s in %s, the world had %d" % (pid, outcome.get("InstanceCount"), region, len(world)))
            complete = ok or bool(vanished)
            if complete:
                observed = set(world)
            else:
                observed = set(seen_last.get(region, set()))
                for kind, ids in traces.get(region, {}).items():
                    if kind != "vanished":
                        observed |= ids
            strays = observed - set(world)
            if strays:
                self.fail("3-observation", "poll %s (run %d) recorded %s in %s, not in that run's world" % (pid, run["index"], sorted(strays), region))
            plan[region] = (sorted(observed & set(world)), complete)
        if record is not None:
            all_ok = all(o.get("Status") == "ok" for o in outcomes.values()) and set(outcomes) >= set(self.regions)
            if bool(record.get("Complete")) != all_ok:
                self.fail("1-poll-record", "poll %s: Complete=%s but regions %s" % (pid, record.get("Complete"), {k: o.get("Status") for k, o in outcomes.items()}))
        return plan

    def replay(self):
        """The expected history: the README's rules applied to the recorded observations in poll order."""
        store, expected = {}, {}

        def event(pid, t, region, iid, kind, **detail):
            expected[(pid, region, iid, kind)] = dict(detail, Time=t)

        for run in self.runs:
            pid = self.pid_of.get(run["index"])
            if pid is None:
                continue
            t = poll_time(pid)
            for region, (observed, complete) in self.observations(run, pid).items():
                world = run["snapshot"][region]
                for iid in observed:
                    new, key = world[iid], (region, iid)
                    cur = store.get(key)
                    if cur is None:
                        event(pid, t, region, iid, "appeared", State=state_of(new))
                        store[key] = dict(content=new, present=True, first=t, seen=t, pid=pid, changed=t, vanished=None)
                        continue
                    if cur["present"] and norm(cur["content"]) == norm(new):
                        cur.update(seen=t, pid=pid)
                        continue
                    if not cur["present"]:
                        event(pid, t, region, iid, "reappeared")
                    diff = field_diff(cur["content"], new)
                    if "State" in diff:
                        event(pid, t, region, iid, "state_changed", From=state_of(cur["content"]), To=state_of(new))
                    others = [f for f in diff if f != "State"]
                    if others:
                        event(pid, t, region, iid, "changed", Fields=others, Tags=norm(new.get("Tags")), InstanceType=new.get("InstanceType"))
                    if diff:
                        cur["changed"] = t
                    cur.update(content=new, present=True, vanished=None, seen=t, pid=pid)
                if complete:
                    for (r, iid), cur in store.items():
                        if r == region and cur["present"] and cur["pid"] != pid:
                            event(pid, t, region, iid, "vanished", LastState=state_of(cur["content"]))
                            cur.update(present=False, vanished=t, changed=t)
        return store, expected

    def compare_events(self, expected):
        found = {}
        for e in self.events:
            key = (e["PollId"], e["Region"], e["InstanceId"], e["Type"])
            if key in found:
                self.fail("2-duplicates", "two %s events for %s in poll %s" % (e["Type"], e["InstanceId"], e["PollId"]))
            found[key] = e
            run = self.runs[self.run_of[e["PollId"]]] if e["PollId"] in self.run_of else None
            if run and e["Type"] == "vanished" and e["InstanceId"] in run["snapshot"][e["Region"]]:
                self.fail("3-false-vanish", "%s marked vanished by poll %s, but the world of run %d had it" % (e["InstanceId"], e["PollId"], run["index"]))
        for key in sorted(set(found) - set(expected)):
            e = found[key]
            detail = {k: e.get(k) for k in ("From", "To", "State", "LastState") if k in e}
            if e.get("Changes"):
                detail["Fields"] = [c.get("Field") for c in e["Changes"]]
            self.fail("3-unjustified-event", "%s %s in poll %s (run %s): %s" % (key[3], key[2], key[0], self.run_of.get(key[0]), detail))
        for key in sorted(set(expected) - set(found)):
            self.fail("4-lost-event", "%s %s in poll %s: %s" % (key[3], key[2], key[0], expected[key]))
        for key in sorted(set(expected) & set(found)):
            want, got = expected[key], found[key]
            problems = []
            if epoch(got.get("Time")) != want["Time"]:
                problems.append("Time %s" % got.get("Time"))
            for field in ("State", "From", "To", "LastState"):
                if field in want and got.get(field) != want[field]:
                    problems.append("%s %r, expected %r" % (field, got.get(field), want[field]))
            if key[3] == "changed":
                changes = {c.get("Field"): c for c in got.get("Changes", [])}
                if sorted(changes) != want["Fields"]:
                    problems.append("fields %s, expected %s" % (sorted(changes), want["Fields"]))
                for field in ("Tags", "InstanceType"):
                    if field in changes and norm(changes[field].get("New")) != norm(want[field]):
                        problems.append("%s.New %s, expected %s" % (field, changes[field].get("New"), want[field]))
            if problems:
                self.fail("3-event-detail", "%s %s in poll %s: %s" % (key[3], key[2], key[0], "; ".join(problems)))

    def compare_instances(self, store):
        for key in sorted(set(self.instances) - set(store)):
            self.fail("4-instances", "%s/%s is stored, but no recorded poll saw it" % key)
        for key in sorted(set(store) - set(self.instances)):
            self.fail("4-instances", "%s/%s was recorded by poll %s but is not stored" % (key + (store[key]["pid"],)))
        for key in sorted(set(store) & set(self.instances)):
            want, got = store[key], self.instances[key]
            pairs = [("Present", got.get("Present"), want["present"]), ("State", state_of(got), state_of(want["content"])),
                     ("LastSeen", epoch(got.get("LastSeen")), want["seen"]), ("LastPollId", got.get("LastPollId"), want["pid"]),
                     ("FirstSeen", epoch(got.get("FirstSeen")), want["first"]), ("LastChanged", epoch(got.get("LastChanged")), want["changed"]),
                     ("VanishedAt", epoch(got.get("VanishedAt")), want["vanished"]),
                     ("Tags", norm(got.get("Tags")), norm(want["content"].get("Tags")))]
            bad = ["%s %r, expected %r" % (name, g, w) for name, g, w in pairs if g != w]
            if bad:
                self.fail("4-instances", "%s/%s: %s" % (key + ("; ".join(bad),)))

    def check_final(self, final_runs, spool_left):
        for run in final_runs:
            if run["exit"] != 0:
                self.fail("5-final-view", "clean run %d exited %s: %s" % (run["index"], run["exit"], run["stderr_tail"][-300:]))
        last = final_runs[-1]
        for region in self.regions:
            world = last["snapshot"][region]
            printed = set(last["printed"].get(region, []))
            if printed != set(world):
                self.fail("5-final-view", "the clean run printed %d instances in %s, the world has %d" % (len(printed), region, len(world)))
            present = {iid for (r, iid), doc in self.instances.items() if r == region and doc.get("Present")}
            if present != set(world):
                self.fail("5-final-view", "%s: present in the database but not in the world %s; in the world but not present %s"
                          % (region, sorted(present - set(world)), sorted(set(world) - present)))
            for iid, inst in world.items():
                doc = self.instances.get((region, iid))
                if doc and state_of(doc) != state_of(inst):
                    self.fail("5-final-view", "%s is %s in the database, %s in the world" % (iid, state_of(doc), state_of(inst)))
        pending = [n for n in spool_left if n.endswith(".ndjson") or n.endswith(".tmp")]
        if pending:
            self.fail("6-spool-drained", "left in the spool: %s" % ", ".join(sorted(pending)))

    def run(self, final_runs, spool_left):
        self.map_polls()
        self.check_runs()
        store, expected = self.replay()
        self.compare_events(expected)
        self.compare_instances(store)
        self.check_final(final_runs, spool_left)
        return self.failures
