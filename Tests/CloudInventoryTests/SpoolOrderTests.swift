@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

/// Spooled polls replay in the order they ran, even two started in the same second whose
/// poll ids (second, account, random hex) sort the other way, and `polls` lists the last run
/// first. Against the wire peer.
@Suite struct SpoolOrderTests {
    let logger = Logger(label: "spool-order-test")
    static let account = "111122223333"
    static let slice = SliceID(account: account, region: "eu-west-1")

    /// Spools one complete poll that saw `instance` in `state`, as a run does.
    func spool(_ spool: Spool, pollId: String, at date: Date, finishedAt: Date, state: String, database: String) throws {
        let poll = PollContext(pollId: pollId, account: Self.account, arn: "arn:test", polledAt: date)
        let writer = try #require(spool.begin(poll, slices: [Self.slice], database: database, logger: logger))
        try writer.appendPage(rendered: RenderedPage(values: [SpoolTests.instance("i-0order000000001", state: state)], nextToken: nil, hashing: false), slice: Self.slice)
        try writer.appendEnd(finishedAt: finishedAt, outcomes: [SliceOutcome(slice: Self.slice, status: .complete, instanceCount: 1)])
        _ = try writer.commit()
    }

    @Test func pollsOfOneSecondReplayInTheOrderTheyRanAndListLastFirst() throws {
        let mongo = try TestMongo(.mock)
        let store = InventoryStore(client: try MongoClient(uri: MongoURI(mongo.uri), logger: logger), database: mongo.database, logger: logger)
        defer { store.close() }
        let spool = Spool(directory: Harness.temporaryDirectory())
        let second = SpoolTests.wholeSecond(-60)
        let stamp = UTCTime.amzDate(second)

        // A file of the previous version (no sequence in its name): it was written before
        // any sequenced one, so it replays first although its name sorts last.
        try self.spool(spool, pollId: "\(stamp)-\(Self.account)-ffffffff", at: second, finishedAt: second.addingTimeInterval(0.1),
                       state: "pending", database: store.identity)
        let written = try #require(spool.pending().first)
        let legacy = spool.directory.appendingPathComponent("\(stamp)-\(Self.account)-ffffffff.ndjson")
        try FileManager.default.moveItem(at: written, to: legacy)
        // Then, in the same second: running, and stopped; the later poll's id sorts first.
        try self.spool(spool, pollId: "\(stamp)-\(Self.account)-eeeeeeee", at: second, finishedAt: second.addingTimeInterval(0.4),
                       state: "running", database: store.identity)
        try self.spool(spool, pollId: "\(stamp)-\(Self.account)-00000000", at: second, finishedAt: second.addingTimeInterval(0.8),
                       state: "stopped", database: store.identity)
        let names = spool.pending().map(\.lastPathComponent)
        #expect(names == ["\(stamp)-\(Self.account)-ffffffff.ndjson", "\(stamp)-\(Self.account)-eeeeeeee.seq1.ndjson",
                          "\(stamp)-\(Self.account)-00000000.seq2.ndjson"], "\(names)")

        let result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.replayed == 3 && result.error == nil)
        let snap = try mongo.snapshot()
        let events = snap.events(for: "i-0order000000001")
        let changes = events.filter { $0["Type"] as? String == "state_changed" }.map { "\($0["From"] ?? "")>\($0["To"] ?? "")" }.sorted()
        #expect(changes == ["pending>running", "running>stopped"], "no false event: \(events)")
        #expect((snap.instance("i-0order000000001")?["State"] as? [String: Any])?["Name"] as? String == "stopped")

        var listed: [String] = []
        try HistoryReader(client: store.client, database: store.database).polls(PollRecordSelection(last: 10, failed: false)) {
            listed.append($0["_id"]?.stringValue ?? "")
        }
        #expect(listed == ["00000000", "eeeeeeee", "ffffffff"].map { "\(stamp)-\(Self.account)-\($0)" }, "the last run first")
        #expect(snap.indexes["polls"]?.contains("started_finished") == true, "\(snap.indexes)")
    }

    @Test func aNewFileTakesTheNextSequenceAndKeepsItThroughRefusalsAndRecovery() throws {
        let spool = Spool(directory: Harness.temporaryDirectory())
        try FileManager.default.createDirectory(at: spool.directory, withIntermediateDirectories: true)
        try Data().write(to: spool.directory.appendingPathComponent("20261125T100000Z-1-aa.seq41.2.ndjson"))
        try Data().write(to: spool.directory.appendingPathComponent("20261125T100000Z-1-bb.seq7.rejected"))
        try Data().write(to: spool.directory.appendingPathComponent("20261125T090000Z-1-cc.ndjson"))
        #expect(spool.nextSequence() == 42)
        let refused = spool.recordRefusal(spool.directory.appendingPathComponent("20261125T100000Z-1-aa.seq41.2.ndjson"))
        #expect(refused.url.lastPathComponent == "20261125T100000Z-1-aa.seq41.rejected" && refused.setAside)
        #expect(Spool.sequence("x.seq12.1.ndjson") == 12 && Spool.sequence("x.1.ndjson") == nil && Spool.sequence("x.seq.ndjson") == nil)
        #expect(Spool.replaysBefore("b.ndjson", "a.seq1.ndjson") && Spool.replaysBefore("z.seq2.ndjson", "a.seq10.ndjson"))
    }
}
