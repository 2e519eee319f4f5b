"""Proof that the kill test's oracle can fail: faults planted in a copy of what was read from
the database must each be reported by the check that names them."""
import copy

from kill_oracle import Oracle


def oracle_self_check(runs, db, regions, final):
    """The oracle must see a lost event, a false vanish, a repeated change and a wrong
    `Present` when they are planted in what was read; a check that cannot fail proves nothing."""
    missed = []

    def planted(name, expect, tamper):
        fake = copy.deepcopy(db)
        if not tamper(fake):
            return
        if not any(check == expect for check, _ in Oracle(runs, fake, regions).run(final, [])):
            missed.append(name)

    def drop_event(d):
        return bool(d["events"]) and d["events"].pop(len(d["events"]) // 2) is not None

    def false_vanish(d):
        last = final[-1]
        for doc in d["instances"]:
            if doc.get("Present") and doc.get("Region") in regions:
                d["events"].append({"_id": "planted", "Account": doc.get("Account"), "Region": doc["Region"], "InstanceId": doc["InstanceId"],
                                    "Type": "vanished", "PollId": doc["LastPollId"], "Time": doc.get("LastSeen"), "LastState": "running"})
                return doc["InstanceId"] in last["snapshot"][doc["Region"]]
        return False

    def repeated_change(d):
        later = sorted(p["_id"] for p in d["polls"])[-1]
        for e in d["events"]:
            if e["Type"] in ("state_changed", "changed") and e["PollId"] != later:
                d["events"].append(dict(e, _id="planted", PollId=later))
                return True
        return False

    def flip_present(d):
        for doc in d["instances"]:
            if doc.get("Region") in regions:
                doc["Present"] = not doc.get("Present")
                return True
        return False

    planted("a lost event", "4-lost-event", drop_event)
    planted("a false vanish", "3-false-vanish", false_vanish)
    planted("a repeated change", "3-unjustified-event", repeated_change)
    planted("a wrong Present flag", "4-instances", flip_present)
    return missed
