"""The crash-consistency oracle: what the database must hold after a series of killed runs,
each run made by one or more writers (pollers sharing the database, as hosts do).

It knows nothing of the poller's code. Its inputs are what the kill test observed from outside:
for each run, the world as moto described it (boto3, before the run), and for each writer
whether it was killed, its exit status, what it printed, the names created in its spool
directory during the run (a poll's spool file is created before the poll writes anything,
so the names say which writer made which poll) and the directory's listing after it; and, at
the end, the database as pymongo reads it. It then judges by the README's rules ("The
database") and the rules of many writers:

  - every write is ordered by its observation (`Rev`: milliseconds, then poll id) and lands
    only over older state, so each instance's stored history is a chain of the observations
    that won, in order. The polls of one run saw one world; runs never overlap, so the
    chain's order is the runs' order;
  - each event is one link of that chain: its poll's run holds the new side, the run of its
    `PrevPollId` (the last sighting before it) the old side, and it starts exactly where the
    previous event left the instance. A link missing is a lost event; a link stored twice
    (two polls, one transition) a duplicate;
  - a run whose poll stored a region completely and live (its record written by the run,
    not a replay, the region `ok`) is in every chain of that region: as of that run, each
    instance's history stands where that run's world stood, and the instances gone from it
    are vanished. A replay older than what is stored writes nothing, so other observations
    may or may not be links; when they are, they are checked as links;
  - the instance documents end where their chains end, and after the clean runs the
    present ones are the world, with no outbox (`Pending`) left and no spool file pending.
"""
import datetime
import json
import re

CHECKS = {
    "1-poll-ids": "every poll id belongs to one run and one writer's spool; at most one poll per writer and run",
    "1-recorded": "every poll that ended normally (0/4/5) or was durably spooled is in `polls`",
    "1-poll-record": "a poll record's per-region outcome and counts match the world it polled",
    "2-duplicates": "each transition stored once, whichever poll: no event repeats where the history already stands",
    "3-observation": "every observation an event or document carries is in the world of its poll's run",
    "3-false-vanish": "`vanished` only for an instance absent from its poll's world, from a complete slice; no reappearance",
    "3-unjustified-event": "no event the history does not imply (a change where nothing changed, of nothing stored)",
    "3-event-detail": "each event's fields (State, From/To, Changes, LastState, Time, PrevSeen/PrevPollId) match the worlds",
    "4-lost-event": "no gap in any instance's history, and at each run that stored a region live and whole, it stands at that world",
    "4-instances": "each instance document agrees with its history (Present, State, Tags, FirstSeen, LastChanged, VanishedAt, Rev)",
    "5-final-view": "the clean runs exit 0 and print the world, the present instances equal it, no `Pending` outbox is left",
    "6-spool-drained": "after the clean runs no writer's spool holds a pending `.ndjson` or a `.tmp`",
    "7-exit-codes": "every writer not killed exits 0, 4 or 5 (no crash, no hang)",
    "7-printed": "every writer not killed printed exactly the world it polled, each line with its poll's time",
}

POLL_ID = re.compile(r"^\d{8}T\d{6}Z-\d{12}-[0-9a-f]{8}$")
EPOCH = datetime.datetime(1970, 1, 1)


def poll_time(poll_id):
    """`20261125T114521Z-...` -> epoch seconds."""
    stamp = poll_id.split("-", 1)[0]
    return int(datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


def millis(value):
    """A stored date as epoch milliseconds, exactly (pymongo's naive UTC datetimes)."""
    if value is None:
        return None
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    delta = value - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def rev(ms, pid):
    return "%013d|%s" % (ms, pid)


def state_of(instance):
    return (instance.get("State") or {}).get("Name")


def norm(value):
    """JSON values compared by content: BSON ints/floats, dates and boto3's datetimes alike."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def field_diff(old, new):
    """Top-level fields whose value differs, as the README's `changed` defines it."""
    return sorted(k for k in set(old) | set(new) if norm(old.get(k)) != norm(new.get(k)))


def spool_poll(name):
    pid = name.split(".", 1)[0]
    return pid if POLL_ID.match(pid) else None


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

    def world(self, run_index, region):
        return self.runs[run_index]["snapshot"][region]

    def in_run(self, ms, run_index, pid):
        """Whether an order's milliseconds fall in the poll's run: not before the poll's own
        second, not after its run ended."""
        return poll_time(pid) * 1000 <= ms <= int((self.runs[run_index]["end"] + 1) * 1000)

    # Which run and which writer made which poll.
    def map_polls(self):
        self.writer_of = {}   # poll id -> writer whose spool directory it was begun in
        for run in self.runs:
            for w in run["writers"]:
                for name in w["created"] + w["spool_after"]:
                    pid = spool_poll(name)
                    if pid is None:
                        continue
                    if self.writer_of.setdefault(pid, w["writer"]) != w["writer"]:
                        self.fail("1-poll-ids", "poll %s is in the spools of writers %d and %d" % (pid, self.writer_of[pid], w["writer"]))
        stored = set(self.polls) | {e["PollId"] for e in self.events} | {e.get("PrevPollId") for e in self.events}
        for doc in self.instances.values():
            stored |= {doc.get("LastPollId"), (doc.get("Rev") or "|").split("|", 1)[1] or None}
        stored.discard(None)
        self.run_of = {}
        for pid in sorted(stored | set(self.writer_of)):
            if not POLL_ID.match(pid):
                self.fail("1-poll-ids", "%r is not a poll id" % pid)
                continue
            t = poll_time(pid)
            owners = [r["index"] for r in self.runs if int(r["start"]) <= t <= r["end"]]
            if len(owners) != 1:
                self.fail("1-poll-ids", "poll %s belongs to %d runs" % (pid, len(owners)))
                continue
            self.run_of[pid] = owners[0]
            if pid in stored and pid not in self.writer_of:
                self.fail("1-poll-ids", "poll %s (run %d) is in the database, but no writer began it" % (pid, owners[0]))
        self.own = {}  # (run, writer) -> the poll that writer began in that run
        for pid, w in sorted(self.writer_of.items()):
            index = self.run_of.get(pid)
            if index is None:
                continue
            if (index, w) in self.own:
                self.fail("1-poll-ids", "writer %d made two polls in run %d: %s and %s" % (w, index, self.own[(index, w)], pid))
            self.own.setdefault((index, w), pid)
        self.killed = {pid for (index, w), pid in self.own.items() if self.runs[index]["writers"][w]["killed"]}

    def check_runs(self):
        for run in self.runs:
            for w in run["writers"]:
                who = "run %d writer %d" % (run["index"], w["writer"])
                pid = self.own.get((run["index"], w["writer"]))
                if w["killed"]:
                    if pid and any(spool_poll(n) == pid and n.endswith(".ndjson") for n in w["spool_after"]) and pid not in self.polls:
                        self.fail("1-recorded", "%s was killed after spooling %s durably, but it is not in `polls`" % (who, pid))
                    continue
                if w["exit"] not in (0, 4, 5):
                    self.fail("7-exit-codes", "%s (db %s) exited %s: %s" % (who, run["db"], w["exit"], w["stderr_tail"][-300:]))
                    continue
                if pid is None:
                    self.fail("1-poll-ids", "%s exited %d, but no spool file of its poll was seen" % (who, w["exit"]))
                    continue
                if pid not in self.polls:
                    self.fail("1-recorded", "%s exited %d but its poll %s is not in `polls`" % (who, w["exit"], pid))
                stamp = datetime.datetime.fromtimestamp(poll_time(pid), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                if w["printed_at"] != [stamp]:
                    self.fail("7-printed", "%s printed PolledAt %s, its poll is at %s" % (who, w["printed_at"][:3], stamp))
                for region in self.regions:
                    printed, world = w["printed"].get(region, []), self.world(run["index"], region)
                    if len(printed) != len(set(printed)) or set(printed) != set(world):
                        self.fail("7-printed", "%s printed %d lines for %s, the world had %d instances" % (who, len(printed), region, len(world)))

    def check_records(self):
        """Each record against its run's world; returns, per region, the runs whose own poll
        stored the region whole and live: every chain of the region passes through them."""
        live = {region: set() for region in self.regions}
        for pid, record in sorted(self.polls.items()):
            index = self.run_of.get(pid)
            if index is None:
                continue
            outcomes = {o.get("Region"): o for o in record.get("Regions", [])}
            for region in self.regions:
                o = outcomes.get(region)
                if o is None:
                    self.fail("1-poll-record", "poll %s has no outcome for %s" % (pid, region))
                    continue
                if o.get("Status") == "ok":
                    if int(o.get("InstanceCount", -1)) != len(self.world(index, region)):
                        self.fail("1-poll-record", "poll %s says %s in %s, the world of run %d had %d"
                                  % (pid, o.get("InstanceCount"), region, index, len(self.world(index, region))))
                    if not record.get("Spooled"):
                        live[region].add(index)
            all_ok = all(o.get("Status") == "ok" for o in outcomes.values()) and set(outcomes) >= set(self.regions)
            if bool(record.get("Complete")) != all_ok:
                self.fail("1-poll-record", "poll %s: Complete=%s but regions %s" % (pid, record.get("Complete"), {k: o.get("Status") for k, o in outcomes.items()}))
        return live

    # One instance's history.
    def steps(self, key, events):
        """The instance's events as steps (one per poll), in order (`Time`, then poll id)."""
        steps = []
        for e in sorted(events, key=lambda e: (millis(e.get("Time")) or 0, e["PollId"])):
            if steps and steps[-1]["pid"] == e["PollId"] and steps[-1]["time"] == millis(e.get("Time")):
                step = steps[-1]
            else:
                step = {"pid": e["PollId"], "time": millis(e.get("Time")), "run": self.run_of.get(e["PollId"]), "events": {}}
                steps.append(step)
            if e["Type"] in step["events"]:
                self.fail("2-duplicates", "two %s events for %s in poll %s" % (e["Type"], key[1], e["PollId"]))
            step["events"][e["Type"]] = e
        return steps

    def check_previous(self, key, where, e, cur, run_index, reappearing):
        """An event's `PrevSeen`/`PrevPollId`: the last sighting of the old side, which must be
        what the history held then."""
        region, iid = key
        pp, ps = e.get("PrevPollId"), millis(e.get("PrevSeen"))
        if pp is None or ps is None:
            self.fail("3-event-detail", "%s: no PrevSeen/PrevPollId" % where)
            return
        pr = self.run_of.get(pp)
        if pr is None:
            return
        if pr > run_index or (not reappearing and pr < cur["run"]) or not self.in_run(ps, pr, pp):
            self.fail("3-event-detail", "%s: previous sighting %s at %s (run %d), the history's last change is in run %d"
                      % (where, pp, e.get("PrevSeen"), pr, cur["run"]))
        seen = self.world(pr, region).get(iid)
        if seen is None:
            self.fail("3-observation", "%s: previous sighting by %s, whose world (run %d) did not have %s" % (where, pp, pr, iid))
        elif field_diff(seen, cur["content"]):
            self.fail("4-lost-event", "%s: %s was seen by %s (run %d) with %s other than its history held, with no event"
                      % (where, iid, pp, pr, field_diff(seen, cur["content"])))

    def walk(self, key, steps):
        """Follows the chain; returns the timeline [(run, state)] and the final state
        ({present, content, run, ...}) or None."""
        region, iid = key
        cur, timeline, last_run = None, [], None
        for step in steps:
            r, pid, ev = step["run"], step["pid"], step["events"]
            if r is None:
                continue
            types = set(ev)
            where = "%s %s by poll %s (run %d)" % ("+".join(sorted(types)), iid, pid, r)
            if last_run is not None and r < last_run:
                self.fail("3-event-detail", "%s comes after an event of run %d in `Time` order" % (where, last_run))
            last_run = max(r, last_run or r)
            if step["time"] is None or not self.in_run(step["time"], r, pid):
                self.fail("3-event-detail", "%s: Time %s is outside its poll's run" % (where, ev[sorted(types)[0]].get("Time")))
            world = self.world(r, region)
            new = world.get(iid)
            if types - {"appeared", "vanished", "reappeared", "state_changed", "changed"}:
                self.fail("3-unjustified-event", "%s: a type the README does not define" % where)
                continue
            if "appeared" in types:
                if types != {"appeared"}:
                    self.fail("3-unjustified-event", "%s: appeared with other events" % where)
                if cur is not None:
                    self.fail("2-duplicates", "%s: it had appeared already (run %d)" % (where, cur["first_run"]))
                if new is None:
                    self.fail("3-observation", "%s: the world of run %d did not have it" % (where, r))
                    continue
                if ev["appeared"].get("State") != state_of(new):
                    self.fail("3-event-detail", "%s: State %r, the world had %r" % (where, ev["appeared"].get("State"), state_of(new)))
                first = cur["first"] if cur else step["time"]
                cur = {"present": True, "content": new, "run": r, "first": first, "first_run": cur["first_run"] if cur else r,
                       "changed": step["time"], "step": step}
            elif "vanished" in types:
                e = ev["vanished"]
                if types != {"vanished"}:
                    self.fail("3-unjustified-event", "%s: vanished with other events" % where)
                if new is not None:
                    self.fail("3-false-vanish", "%s, but the world of run %d had it" % (where, r))
                record = self.polls.get(pid)
                outcome = {o.get("Region"): o for o in (record or {}).get("Regions", [])}.get(region)
                # A killed run may have marked a complete region before its record was written; a
                # recovered `.tmp` then records every slice as failed: the vanish stands if true.
                if outcome is not None and outcome.get("Status") != "ok" and pid not in self.killed:
                    self.fail("3-false-vanish", "%s, whose slice of %s failed (%s)" % (where, region, outcome.get("ErrorCode")))
                if cur is None:
                    self.fail("3-unjustified-event", "%s: nothing was stored for it" % where)
                    continue
                if not cur["present"]:
                    self.fail("2-duplicates", "%s: it had vanished already" % where)
                else:
                    if e.get("LastState") != state_of(cur["content"]):
                        self.fail("4-lost-event", "%s: LastState %r, its history has it %r" % (where, e.get("LastState"), state_of(cur["content"])))
                    self.check_previous(key, where, e, cur, r, False)
                cur = dict(cur, present=False, run=r, changed=step["time"], step=step)
            else:
                if new is None:
                    self.fail("3-observation", "%s: the world of run %d did not have it" % (where, r))
                    continue
                if cur is None:
                    self.fail("4-lost-event", "%s: no `appeared` before it" % where)
                    cur = {"present": True, "content": new, "run": r, "first": None, "first_run": r, "changed": step["time"], "step": step}
                    continue
                reappearing = "reappeared" in types
                if reappearing and cur["present"]:
                    self.fail("3-false-vanish", "%s: reappeared, but its history has it present" % where)
                if not reappearing and not cur["present"]:
                    self.fail("4-lost-event", "%s: its history has it vanished, and no `reappeared`" % where)
                old = cur["content"]
                diff = field_diff(old, new)
                others = [f for f in diff if f != "State"]
                if "state_changed" in ev:
                    e = ev["state_changed"]
                    if "State" not in diff:
                        check = "2-duplicates" if e.get("To") == state_of(old) else "3-unjustified-event"
                        self.fail(check, "%s: %s -> %s, but its history already has it %s" % (where, e.get("From"), e.get("To"), state_of(old)))
                    else:
                        if e.get("From") != state_of(old):
                            self.fail("4-lost-event", "%s: From %r, its history has it %r" % (where, e.get("From"), state_of(old)))
                        if e.get("To") != state_of(new):
                            self.fail("3-event-detail", "%s: To %r, the world had %r" % (where, e.get("To"), state_of(new)))
                    exact = millis(e.get("ExactTime")) if e.get("ExactTime") is not None else None
                    if exact is not None and not ((millis(e.get("PrevSeen")) or 0) <= exact <= (step["time"] or 0)):
                        self.fail("3-event-detail", "%s: ExactTime %s outside (PrevSeen %s, Time %s)" % (where, e.get("ExactTime"), e.get("PrevSeen"), e.get("Time")))
                elif "State" in diff:
                    self.fail("4-lost-event", "%s: the state went %s -> %s with no state_changed" % (where, state_of(old), state_of(new)))
                if "changed" in ev:
                    e = ev["changed"]
                    changes = {c.get("Field"): c for c in e.get("Changes", [])}
                    if not others:
                        same = all(norm(c.get("New")) == norm(old.get(f)) for f, c in changes.items())
                        self.fail("2-duplicates" if same else "3-unjustified-event",
                                  "%s: fields %s, but its history already has them so" % (where, sorted(changes)))
                    else:
                        if sorted(changes) != others:
                            self.fail("3-event-detail", "%s: fields %s, expected %s" % (where, sorted(changes), others))
                        for field in ("Tags", "InstanceType"):
                            if field in changes and norm(changes[field].get("New")) != norm(new.get(field)):
                                self.fail("3-event-detail", "%s: %s.New %s, the world had %s" % (where, field, changes[field].get("New"), new.get(field)))
                            if field in changes and norm(changes[field].get("Old")) != norm(old.get(field)):
                                self.fail("4-lost-event", "%s: %s.Old %s, its history has %s" % (where, field, changes[field].get("Old"), old.get(field)))
                elif others:
                    self.fail("4-lost-event", "%s: fields %s changed with no `changed` event" % (where, others))
                first_event = ev.get("reappeared") or ev.get("state_changed") or ev.get("changed")
                self.check_previous(key, where, first_event, cur, r, reappearing)
                cur = dict(cur, present=True, content=new, run=r, changed=step["time"] if diff else cur["changed"], step=step)
            timeline.append((r, cur))
        return timeline, cur

    def state_as_of(self, timeline, run_index):
        state = None
        for r, s in timeline:
            if r > run_index:
                break
            state = s
        return state

    def check_instance(self, key, doc, cur):
        """The document against where its history ends."""
        region, iid = key
        if doc is None:
            if cur is not None:
                self.fail("4-instances", "%s/%s has events but no document" % key)
            return
        if cur is None:
            self.fail("4-lost-event", "%s/%s is stored, but no `appeared` event" % key)
            return
        name = "%s/%s" % key
        content, present = cur["content"], cur["present"]
        bad = []
        if doc.get("Present") is not present:
            bad.append("Present %r, its history says %r" % (doc.get("Present"), present))
        if state_of(doc) != state_of(content):
            bad.append("State %r, its history says %r" % (state_of(doc), state_of(content)))
        for field in ("Tags", "InstanceType"):
            if norm(doc.get(field)) != norm(content.get(field)):
                bad.append("%s %s, its history says %s" % (field, norm(doc.get(field)), norm(content.get(field))))
        if cur["first"] is not None and millis(doc.get("FirstSeen")) != cur["first"]:
            bad.append("FirstSeen %s, appeared at %s" % (doc.get("FirstSeen"), cur["first"]))
        if millis(doc.get("LastChanged")) != cur["changed"]:
            bad.append("LastChanged %s, the last change is at %s" % (doc.get("LastChanged"), cur["changed"]))
        last = cur["step"]
        if present:
            if doc.get("VanishedAt") is not None:
                bad.append("VanishedAt %s on a present instance" % doc.get("VanishedAt"))
            seen, pid = millis(doc.get("LastSeen")), doc.get("LastPollId")
            if seen is None or pid is None or doc.get("Rev") != rev(seen, pid):
                bad.append("Rev %r, LastSeen %s and LastPollId %s" % (doc.get("Rev"), doc.get("LastSeen"), pid))
            elif (seen, pid) < (last["time"] or 0, last["pid"]):
                bad.append("last sighting %s is older than its last event's (%s)" % (doc.get("Rev"), last["pid"]))
        else:
            if millis(doc.get("VanishedAt")) != last["time"]:
                bad.append("VanishedAt %s, vanished at %s" % (doc.get("VanishedAt"), last["time"]))
            if doc.get("Rev") != rev(last["time"] or 0, last["pid"]):
                bad.append("Rev %r, vanished by %s" % (doc.get("Rev"), rev(last["time"] or 0, last["pid"])))
        if bad:
            self.fail("4-instances", "%s: %s" % (name, "; ".join(bad)))
        pid = doc.get("LastPollId")
        pr = self.run_of.get(pid)
        if pr is not None:
            seen = self.world(pr, region).get(iid)
            if seen is None:
                self.fail("3-observation", "%s was last seen by %s, whose world (run %d) did not have it" % (name, pid, pr))
            elif field_diff(seen, content):
                self.fail("4-lost-event", "%s was last seen by %s (run %d) with %s other than its history ends with"
                          % (name, pid, pr, field_diff(seen, content)))
            if not self.in_run(millis(doc.get("LastSeen")) or 0, pr, pid):
                self.fail("4-instances", "%s: LastSeen %s is outside the run of %s" % (name, doc.get("LastSeen"), pid))

    def check_histories(self, live):
        by_key, times = {}, {}
        for e in self.events:
            by_key.setdefault((e["Region"], e["InstanceId"]), []).append(e)
            times.setdefault((e["PollId"], e["Region"]), set()).add(millis(e.get("Time")))
        # A poll observes a slice at one order: every event of it in the slice has one Time.
        for (pid, region), seen in sorted(times.items(), key=lambda kv: kv[0]):
            if len(seen) > 1:
                self.fail("3-event-detail", "poll %s's events in %s carry %d different times" % (pid, region, len(seen)))
        timelines = {}
        for key in sorted(set(by_key) | set(self.instances)):
            steps = self.steps(key, by_key.get(key, []))
            timeline, cur = self.walk(key, steps)
            timelines[key] = timeline
            self.check_instance(key, self.instances.get(key), cur)
        # Nothing lost: at each run that stored a region whole and live, every history stands
        # where the world stood.
        for region in self.regions:
            for g in sorted(live[region]):
                world = self.world(g, region)
                for key in sorted(k for k in timelines if k[0] == region):
                    iid = key[1]
                    state = self.state_as_of(timelines[key], g)
                    if iid in world:
                        if state is None:
                            self.fail("4-lost-event", "%s: run %d stored %s whole, but its history has no `appeared` by then" % (iid, g, region))
                        elif not state["present"]:
                            self.fail("4-lost-event", "%s: run %d stored %s whole and saw it, but its history has it vanished" % (iid, g, region))
                        elif field_diff(state["content"], world[iid]):
                            self.fail("4-lost-event", "%s: run %d stored %s whole, but its history has %s other than that world (%s -> %s)"
                                      % (iid, g, region, field_diff(state["content"], world[iid]), state_of(state["content"]), state_of(world[iid])))
                    elif state is not None and state["present"]:
                        self.fail("4-lost-event", "%s: run %d stored %s whole without it, but its history has it present then "
                                                  "(its vanish is missing or stored late)" % (iid, g, region))
                for iid in sorted(set(world) - {k[1] for k in timelines if k[0] == region}):
                    self.fail("4-lost-event", "%s: run %d stored %s whole and saw it, but it has no history at all" % (iid, g, region))

    def check_final(self, final_runs):
        for run in final_runs:
            for w in run["writers"]:
                if w["exit"] != 0:
                    self.fail("5-final-view", "clean run %d writer %d exited %s: %s" % (run["index"], w["writer"], w["exit"], w["stderr_tail"][-300:]))
        last = final_runs[-1]
        for region in self.regions:
            world = self.world(last["index"], region)
            for w in last["writers"]:
                printed = set(w["printed"].get(region, []))
                if printed != set(world):
                    self.fail("5-final-view", "writer %d's clean run printed %d instances in %s, the world has %d" % (w["writer"], len(printed), region, len(world)))
            present = {iid for (r, iid), doc in self.instances.items() if r == region and doc.get("Present")}
            if present != set(world):
                self.fail("5-final-view", "%s: present in the database but not in the world %s; in the world but not present %s"
                          % (region, sorted(present - set(world)), sorted(set(world) - present)))
            for iid, inst in world.items():
                doc = self.instances.get((region, iid))
                if doc and state_of(doc) != state_of(inst):
                    self.fail("5-final-view", "%s is %s in the database, %s in the world" % (iid, state_of(doc), state_of(inst)))
        for key, doc in sorted(self.instances.items()):
            if doc.get("Pending"):
                self.fail("5-final-view", "%s/%s still holds an outbox: %s" % (key + ([p.get("Type") for p in doc["Pending"]],)))
        for w in last["writers"]:
            pending = [n for n in w["spool_after"] if n.endswith(".ndjson") or n.endswith(".tmp")]
            if pending:
                self.fail("6-spool-drained", "left in writer %d's spool: %s" % (w["writer"], ", ".join(sorted(pending))))

    def run(self, final_runs):
        self.map_polls()
        self.check_runs()
        live = self.check_records()
        self.check_histories(live)
        self.check_final(final_runs)
        return self.failures
