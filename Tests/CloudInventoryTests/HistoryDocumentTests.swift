import AWSCore
import CloudInventory
import Foundation
import Logging
import Testing

/// The history subcommands over documents the test puts into the wire-peer database itself:
/// events with and without the newer time fields, poll records of this version, of a selected
/// poll, and foreign or partial ones another program wrote.
@Suite struct HistoryDocumentTests {
    static let account = "123456789012"
    static let id = "i-0123456789abcdef0"

    static func at(_ text: String) -> BSONValue { .date(UTCTime.parse(text)!) }

    static func event(_ type: String, _ time: String, id: String = HistoryDocumentTests.id,
                      _ extra: [(String, BSONValue)]) -> BSONValue {
        .document([("_id", .string("\(type)-\(time)-\(id)")), ("Account", .string(account)), ("Region", "eu-west-1"),
                   ("InstanceId", .string(id)), ("Type", .string(type)), ("Time", at(time)), ("PollId", "p")] + extra)
    }

    /// appeared (old document: no PrevSeen), stopped with a window, started with an exact time,
    /// a changed event with a noisy and a real field, one with only noisy fields.
    static let events: [BSONValue] = [
        event("appeared", "2026-12-07T11:08:31Z", [("State", "running")]),
        event("state_changed", "2026-12-07T13:08:31Z", [("From", "running"), ("To", "stopped"),
                                                          ("PrevSeen", at("2026-12-07T12:08:31Z")), ("PrevPollId", "p0")]),
        event("state_changed", "2026-12-07T15:08:31Z", [("From", "stopped"), ("To", "running"),
                                                          ("PrevSeen", at("2026-12-07T14:08:31Z")), ("ExactTime", at("2026-12-07T14:30:02Z"))]),
        event("changed", "2026-12-07T16:08:31Z", [("Changes", .array([
            .document([("Field", "StateReason"), ("Old", "a"), ("New", "b")]),
            .document([("Field", "InstanceType"), ("Old", "t3.micro"), ("New", "=HYPERLINK(\"http://x\")")]),
        ]))]),
        event("changed", "2026-12-07T17:08:31Z", [("Changes", .array([
            .document([("Field", "BlockDeviceMappings"), ("Old", "x"), ("New", "y")]),
        ]))]),
    ]

    static let polls: [BSONValue] = [
        // This version's record of a selected poll.
        .document([("_id", "p-selected"), ("StartedAt", at("2026-12-07T11:08:30Z")), ("FinishedAt", at("2026-12-07T11:08:33Z")),
                   ("Account", .string(account)), ("Regions", .array([.document([("Region", "eu-west-1"), ("Status", "ok"), ("InstanceCount", .int32(1))])])),
                   ("InstancesByState", .document([("running", .int32(1))])), ("InstanceCount", .int32(1)), ("Errors", .int32(0)),
                   ("Complete", true), ("Spooled", false), ("Version", "x"),
                   ("Selection", .document([("Filters", .array([.document([("Name", "tag:env"), ("Values", .array(["prod", "staging"]))])])),
                                            ("InstanceIds", .array([.string(id)]))]))]),
        // Another program's: no Complete, no Spooled, junk Regions entries, ill-typed fields.
        .document([("_id", "p-foreign"), ("StartedAt", at("2026-12-07T12:08:30Z")), ("FinishedAt", "later"),
                   ("Account", .int32(5)), ("Regions", .array(["eu-west-1", .document([("Region", "x")]), .document([("Status", .int32(1))])])),
                   ("InstancesByState", .document([("running", "many")])), ("InstanceCount", "3")]),
    ]

    func database() throws -> TestMongo {
        let mongo = try TestMongo(.mock)
        let client = try MongoClient(uri: MongoURI(mongo.uri), logger: Logger(label: "test"))
        defer { client.close() }
        _ = try client.command(mongo.database, ["insert": "events", "documents": .array(Self.events)])
        _ = try client.command(mongo.database, ["insert": "polls", "documents": .array(Self.polls)])
        return mongo
    }

    func ask(_ mongo: TestMongo, _ arguments: [String], env extra: [String: String] = [:]) throws -> ProcessResult {
        var env = Harness.baseEnvironment()
        env["CM_DB_URI"] = mongo.uri
        env["CM_DB_NAME"] = mongo.database
        env.merge(extra) { $1 }
        return try runProcess(Harness.pollerBinary, arguments, environment: env, timeout: 120)
    }

    func table(_ r: ProcessResult) -> [[String]] {
        r.lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func eventsShowTheExactTimeElseTheWindowElseThePollTime() throws {
        let mongo = try database()
        let text = try ask(mongo, ["history", Self.id])
        #expect(text.status == 0, "\(text.stderr)")
        let rows = table(text)
        #expect(rows.first?.first == "time")
        let times = rows.dropFirst().map { $0[0] }
        #expect(times.prefix(3) == ["2026-12-07T11:08:31Z", "between 2026-12-07T12:08:31Z and 13:08:31Z", "2026-12-07T14:30:02Z"], "\(times)")
        let csv = parseCSV(try ask(mongo, ["changes", "--since", "2026-12-01", "--format", "csv"]).stdout)
        #expect(csv.first == ["time", "account", "region", "id", "event", "field", "old", "new", "exact_time", "prev_seen"])
        let stopped = try #require(csv.first { $0.count == 10 && $0[7] == "stopped" })
        #expect(stopped[0] == "2026-12-07T13:08:31Z" && stopped[8] == "" && stopped[9] == "2026-12-07T12:08:31Z", "\(stopped)")
        let started = try #require(csv.first { $0.count == 10 && $0[7] == "running" && $0[4] == "state_changed" })
        #expect(started[8] == "2026-12-07T14:30:02Z" && started[9] == "2026-12-07T14:08:31Z", "\(started)")
        let json = try ask(mongo, ["changes", "--since", "2026-12-01", "--format", "ndjson", "--type", "state_changed"])
        let first = try #require(try json.lines.first.map(parseJSON) as? [String: Any])
        #expect(first["PrevSeen"] as? String == "2026-12-07T12:08:31Z" && first["PrevPollId"] as? String == "p0")
    }

    @Test func ignoredFieldsAreLeftOutAndEventsWithOnlyThoseAreNotShown() throws {
        let mongo = try database()
        let all = try ask(mongo, ["changes", "--since", "2026-12-01", "--type", "changed", "--format", "ndjson"])
        #expect(all.lines.count == 2)
        let kept = try ask(mongo, ["changes", "--since", "2026-12-01", "--type", "changed", "--format", "ndjson",
                                   "--ignore-field", "StateReason", "--ignore-field", "BlockDeviceMappings"])
        #expect(kept.status == 0 && kept.lines.count == 1, "\(kept.stdout)")
        let changes = (try kept.lines.first.map(parseJSON) as? [String: Any])?["Changes"] as? [[String: Any]] ?? []
        #expect(changes.map { $0["Field"] as? String ?? "" } == ["InstanceType"])
        let text = try ask(mongo, ["changes", "--since", "2026-12-01", "--ignore-field", "StateReason"])
        #expect(!text.stdout.contains("StateReason") && text.stdout.contains("BlockDeviceMappings"))
    }

    @Test func historySinceAndLast() throws {
        let mongo = try database()
        let last2 = try ask(mongo, ["history", Self.id, "--last", "2", "--format", "ndjson"])
        #expect(last2.lines.compactMap { (try? parseJSON($0) as? [String: Any])?["Time"] as? String }
            == ["2026-12-07T16:08:31Z", "2026-12-07T17:08:31Z"], "\(last2.stdout)")
        let since = try ask(mongo, ["history", Self.id, "--since", "2026-12-07T15:00:00Z", "--format", "ndjson"])
        #expect(since.lines.count == 3, "\(since.stdout)")
        #expect(try ask(mongo, ["history", Self.id, "--last", "0"]).status == 2)
    }

    @Test func csvFormulaCellsAreNeutralisedUnlessRaw() throws {
        let mongo = try database()
        let csv = try ask(mongo, ["changes", "--since", "2026-12-01", "--format", "csv"])
        #expect(csv.stdout.contains("'=HYPERLINK(\"\"http://x\"\")"), "\(csv.stdout)")
        let raw = try ask(mongo, ["changes", "--since", "2026-12-01", "--format", "csv", "--csv-raw"])
        #expect(raw.stdout.contains(",\"=HYPERLINK(\"\"http://x\"\")\"") && !raw.stdout.contains("'="), "\(raw.stdout)")
    }

    @Test func pollsShowTheirSelectionAndNothingAForeignRecordDoesNotHold() throws {
        let mongo = try database()
        let r = try ask(mongo, ["polls"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = table(r)
        let header = rows.first ?? []
        #expect(header.contains("selection"))
        func cell(_ row: [String], _ name: String) -> String {
            header.firstIndex(of: name).flatMap { $0 < row.count ? row[$0] : nil } ?? "<no \(name) column>"
        }
        let selected = try #require(rows.first { $0.last == "p-selected" })
        #expect(cell(selected, "selection") == "Name=tag:env,Values=prod,staging;InstanceIds=\(Self.id)")
        #expect(cell(selected, "complete") == "yes" && cell(selected, "slices_ok") == "1" && cell(selected, "spooled") == "no")
        let foreign = try #require(rows.first { $0.last == "p-foreign" })
        for name in ["complete", "spooled", "duration", "account", "instances", "by_state", "selection"] {
            #expect(cell(foreign, name) == "-", "\(name): \(foreign)")
        }
        #expect(cell(foreign, "slices_ok") == "0" && cell(foreign, "slices_failed") == "0", "\(foreign)")
        let csv = parseCSV(try ask(mongo, ["polls", "--format", "csv"]).stdout)
        #expect(csv.first?.contains("selection") == true)
        #expect(csv.contains { $0.contains("Name=tag:env,Values=prod,staging;InstanceIds=\(Self.id)") })
    }

    @Test func timesBeforeTheFirstPollOrInTheFutureWarn() throws {
        let mongo = try database()
        let early = try ask(mongo, ["changes", "--since", "2026-01-01T00:00:00Z"])
        #expect(early.status == 0)
        #expect(early.stderrTexts.filter { $0.contains("warning --since 2026-01-01T00:00:00Z is before the history begins: "
            + "the first poll started at 2026-12-07T11:08:30Z") }.count == 1, "\(early.stderr)")
        let future = try ask(mongo, ["instances", "--as-of", "2099-01-01"])
        #expect(future.status == 0)
        #expect(future.stderrTexts.filter { $0.contains("warning --as-of 2099-01-01T00:00:00Z is in the future") }.count == 1, "\(future.stderr)")
        let inside = try ask(mongo, ["changes", "--since", "2026-12-07T12:00:00Z"])
        #expect(!inside.stderr.contains("warning"), "\(inside.stderr)")
    }

    /// `changes | head -1`: the reader went away; the answer ends quietly with 0. Far more
    /// than a pipe holds, so the write after `head` exits surely fails.
    @Test func aReaderThatGoesAwayEndsTheAnswerQuietly() throws {
        let mongo = try TestMongo(.mock)
        let client = try MongoClient(uri: MongoURI(mongo.uri), logger: Logger(label: "test"))
        let many = (0..<5000).map { n in
            Self.event("appeared", "2026-12-07T11:08:31Z", id: "i-" + String(format: "%017x", n), [("State", "running"), ("Pad", .string(String(repeating: "x", count: 200)))])
        }
        _ = try client.command(mongo.database, ["insert": "events", "documents": .array(many)])
        client.close()
        let script = "\"$0\" \"$@\" | head -1 >/dev/null; exit ${PIPESTATUS[0]}"
        var env = Harness.baseEnvironment()
        env["CM_DB_URI"] = mongo.uri
        env["CM_DB_NAME"] = mongo.database
        let r = try runProcess("/bin/bash", ["-c", script, Harness.pollerBinary, "changes", "--since", "2026-12-01", "--format", "ndjson"],
                               environment: env, timeout: 120)
        #expect(r.status == 0, "\(r.status) \(r.stderr)")
        #expect(r.failureLines.isEmpty, "\(r.stderr)")
    }

    /// On a terminal a cell is cut at 80 characters with an ellipsis; on a pipe it is whole.
    @Test func textCellsAreCappedOnATerminalOnly() throws {
        let mongo = try database()
        let long = (0..<30).map { "i-" + String(format: "%017x", $0) }
        let client = try MongoClient(uri: MongoURI(mongo.uri), logger: Logger(label: "test"))
        _ = try client.command(mongo.database, ["insert": "polls", "documents": .array([.document([
            ("_id", "p-long"), ("StartedAt", Self.at("2026-12-07T18:00:00Z")),
            ("Selection", .document([("InstanceIds", .array(long.map { .string($0) }))]))])])])
        client.close()
        let piped = try ask(mongo, ["polls"])
        #expect(piped.stdout.contains(long.joined(separator: ",")), "\(piped.stdout)")
        var env = Harness.baseEnvironment()
        env["CM_DB_URI"] = mongo.uri
        env["CM_DB_NAME"] = mongo.database
        let pty = try runProcess(Harness.python, Harness.pythonArguments([Harness.support.appendingPathComponent("pty_run.py").path,
                                                                          "--stdout-on-pty", Harness.pollerBinary, "polls"]),
                                 environment: env, timeout: 120)
        let screen = (try parseJSON(pty.stdout) as? [String: Any])?["stderr"] as? String ?? ""
        let row = try #require(screen.split(whereSeparator: \.isNewline).first { $0.contains("p-long") }, "\(screen)")
        #expect(row.contains("InstanceIds=i-00000000000000000,") && row.contains("…"), "\(row)")
        #expect(!row.contains(long.joined(separator: ",")), "\(row)")
    }
}
