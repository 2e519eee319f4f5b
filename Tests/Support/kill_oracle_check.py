"""Proof that the kill test's oracle can fail: faults planted in a copy of what was read from
the database must each be reported by the check that names them."""
import copy

from kill_oracle import Oracle


def oracle_self_check(runs, db, regions, final):
    """The oracle must see a lost event, a false vanish, a transition stored twice (by a later
    poll, and by two writers of one run), a vanish stored late, a wrong `Present`, a stale state written over a
    newer one, a poll missing from `polls` and an outbox left behind when they are planted in
    what was read; a check that cannot fail proves nothing. Returns the plants it missed and
    the plants made (a run may offer nothing to plant one in: one writer has no second poll
    in a run)."""
    missed, made = [], []
    mapped = Oracle(runs, db, regions)
    mapped.map_polls()
    run_of, own = mapped.run_of, mapped.own

    def ours(doc):
        return doc.get("Region") in regions

    def planted(name, expect, tamper):
        fake = copy.deepcopy(db)
        if not tamper(fake):
            return
        made.append(name)
        if not any(check == expect for check, _ in Oracle(runs, fake, regions).run(final)):
            missed.append(name)

    def drop_event(d):
        changes = [i for i, e in enumerate(d["events"]) if ours(e) and e["Type"] in ("state_changed", "changed")]
        if not changes:
            changes = [i for i, e in enumerate(d["events"]) if ours(e)]
        return bool(changes) and d["events"].pop(changes[len(changes) // 2]) is not None

    def false_vanish(d):
        last = final[-1]
        for doc in d["instances"]:
            if doc.get("Present") and ours(doc):
                d["events"].append({"_id": "planted", "Account": doc.get("Account"), "Region": doc["Region"], "InstanceId": doc["InstanceId"],
                                    "Type": "vanished", "PollId": doc["LastPollId"], "Time": doc.get("LastSeen"), "LastState": "running",
                                    "PrevSeen": doc.get("LastSeen"), "PrevPollId": doc["LastPollId"]})
                return doc["InstanceId"] in last["snapshot"][doc["Region"]]
        return False

    def last_change(d):
        """An instance whose last event is a state change, and that event."""
        latest = {}
        for e in d["events"]:
            if ours(e):
                key = (e["Region"], e["InstanceId"])
                if key not in latest or (e["Time"], e["PollId"]) > (latest[key]["Time"], latest[key]["PollId"]):
                    latest[key] = e
        for doc in d["instances"]:
            e = latest.get((doc.get("Region"), doc.get("InstanceId")))
            if doc.get("Present") and e and e["Type"] == "state_changed" and doc["LastPollId"] != e["PollId"]:
                return doc, e
        return None, None

    def repeated_later(d):
        doc, e = last_change(d)
        if doc is None:
            return False
        d["events"].append(dict(e, _id="planted", PollId=doc["LastPollId"], Time=doc["LastSeen"]))
        return True

    def twice_in_one_run(d):
        for e in d["events"]:
            if ours(e) and e["Type"] in ("state_changed", "changed", "appeared") and e["PollId"] in run_of:
                others = sorted(p["_id"] for p in d["polls"] if p["_id"] != e["PollId"] and run_of.get(p["_id"]) == run_of[e["PollId"]])
                if others:
                    d["events"].append(dict(e, _id="planted", PollId=others[0]))
                    return True
        return False

    def late_vanish(d):
        """A vanish dated to the last run, after a clean run that stored the region whole
        without the instance: the history says present where that run's world did not."""
        last = [doc for doc in d["instances"] if ours(doc) and doc.get("Present") and run_of.get(doc.get("LastPollId")) == final[-1]["index"]]
        for e in d["events"]:
            if ours(e) and e["Type"] == "vanished" and run_of.get(e["PollId"], final[0]["index"]) < final[0]["index"] and last:
                e.update(PollId=last[0]["LastPollId"], Time=last[0]["LastSeen"])
                return True
        return False

    def flip_present(d):
        for doc in d["instances"]:
            if ours(doc):
                doc["Present"] = not doc.get("Present")
                return True
        return False

    def stale_state(d):
        doc, e = last_change(d)
        if doc is None:
            return False
        doc["State"] = dict(doc.get("State") or {}, Name=e.get("From"))
        return True

    def poll_record_lost(d):
        for (index, w), pid in sorted(own.items()):
            writer = runs[index]["writers"][w]
            if not writer["killed"] and writer["exit"] == 0:
                d["polls"] = [p for p in d["polls"] if p["_id"] != pid]
                return True
        return False

    def outbox_left(d):
        for doc in d["instances"]:
            if ours(doc):
                e = next((e for e in d["events"] if e["InstanceId"] == doc["InstanceId"]), None)
                if e:
                    doc["Pending"] = [e]
                    return True
        return False

    planted("a lost event", "4-lost-event", drop_event)
    planted("a false vanish", "3-false-vanish", false_vanish)
    planted("a transition stored again by a later poll", "2-duplicates", repeated_later)
    planted("a transition stored by two polls of one run", "2-duplicates", twice_in_one_run)
    planted("a vanish stored late", "4-lost-event", late_vanish)
    planted("a wrong Present flag", "4-instances", flip_present)
    planted("a stale state over a newer one", "4-instances", stale_state)
    planted("a poll missing from `polls`", "1-recorded", poll_record_lost)
    planted("an outbox left behind", "5-final-view", outbox_left)
    return missed, made
