@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

/// The spool in process, against the wire peer: refusals, interrupted runs, other databases,
/// cancellation, clock steps and a parser that takes any bytes.
@Suite struct SpoolTests {
    let logger = Logger(label: "spool-test")

    /// An instance document as the poller would produce it.
    static func instance(_ id: String, state: String = "running", tag: String = "web", region: String = "eu-west-1") -> JSONValue {
        .object([
            JSONMember("InstanceId", .string(id)), JSONMember("InstanceType", "t3.micro"), JSONMember("Region", .string(region)),
            JSONMember("State", .object([JSONMember("Code", 16), JSONMember("Name", .string(state))])),
            JSONMember("Tags", .array([.object([JSONMember("Key", "Name"), JSONMember("Value", .string(tag))])])),
        ])
    }

    static func ids(_ prefix: String, _ count: Int) -> [String] {
        (0..<count).map { "i-\(prefix)\(String(format: "%08x", $0))" }
    }

    /// A store on a fresh mock database; the caller closes it.
    func openStore(_ mongo: TestMongo) throws -> InventoryStore {
        InventoryStore(client: try MongoClient(uri: MongoURI(mongo.uri), logger: logger), database: mongo.database, logger: logger)
    }

    /// Writes a spool file the way a run does: header, pages, then `end` and commit unless
    /// `interrupted` (then the writer is returned still open: the caller abandons it, as a
    /// killed run leaves it, lock released).
    @discardableResult
    func spoolPoll(_ spool: Spool, account: String = "111122223333", region: String = "eu-west-1", at date: Date,
                   pages: [[JSONValue]], database: String?, interrupted: Bool = false, tail: String = "") throws -> Spool.Writer {
        let poll = PollContext(pollId: PollContext.newPollId(account: account, at: date), account: account, arn: "arn:test", polledAt: date)
        let slice = SliceID(account: account, region: region)
        let writer = try #require(spool.begin(poll, slices: [slice], database: database, logger: logger))
        for page in pages { try writer.appendPage(rendered: RenderedPage(values: page, nextToken: nil, hashing: false), slice: slice) }
        if !tail.isEmpty {
            let fd = unsafe open(writer.temporary.path, O_WRONLY | O_APPEND)
            _ = unsafe tail.withCString { unsafe write(fd, $0, strlen($0)) }
            close(fd)
        }
        if interrupted { return writer }
        let count = pages.reduce(0) { $0 + $1.count }
        try writer.appendEnd(finishedAt: date.addingTimeInterval(5), outcomes: [SliceOutcome(slice: slice, status: .complete, instanceCount: count)])
        _ = try writer.commit()
        return writer
    }

    static func wholeSecond(_ offset: TimeInterval = 0) -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + offset).rounded(.down))
    }

    static func files(_ spool: Spool) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool.directory.path)) ?? []).sorted()
    }

    @Test func aFileTheDatabaseRefusesIsSetAsideAfterThreeTriesAndNeverBlocksTheRest() throws {
        let mongo = try TestMongo(.mock)
        var store = try openStore(mongo)
        defer { store.close() }
        let spool = Spool(directory: Harness.temporaryDirectory())
        try spoolPoll(spool, at: Self.wholeSecond(-100), pages: [[Self.instance("i-POISON0001")]], database: store.identity)
        try spoolPoll(spool, region: "eu-west-2", at: Self.wholeSecond(-50), pages: [Self.ids("a", 3).map { Self.instance($0, region: "eu-west-2") }],
                      database: store.identity)
        try mongo.reject(marker: "POISON")

        var result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.error == nil, "a refusal of one file is not an outage")
        #expect(result.replayed == 1, "the healthy file behind it is replayed in the same run")
        #expect(Self.files(spool).count == 1 && Self.files(spool)[0].hasSuffix(".1.ndjson"), "\(Self.files(spool))")
        #expect(try mongo.snapshot().polls.count == 1)

        // An outage is not counted against the file.
        mongo.down()
        result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.error?.isUnreachable == true)
        #expect(Self.files(spool)[0].hasSuffix(".1.ndjson"))
        mongo.up()
        // Each run is a new process with a new client (libmongoc waits 5 s before it retries
        // a server it found down).
        store.close()
        store = try openStore(mongo)

        result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(Self.files(spool)[0].hasSuffix(".2.ndjson"))
        result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.rejected == 1)
        #expect(Self.files(spool).count == 1 && Self.files(spool)[0].hasSuffix(".rejected"), "\(Self.files(spool))")
        result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.rejected == 0 && result.replayed == 0 && result.error == nil)
    }

    @Test func aTmpLeftByAKilledRunIsRecordedAsAnInterruptedPoll() throws {
        let mongo = try TestMongo(.mock)
        let store = try openStore(mongo)
        defer { store.close() }
        let spool = Spool(directory: Harness.temporaryDirectory())
        let ids = Self.ids("b", 4)
        // A complete earlier poll saw all four.
        try spoolPoll(spool, at: Self.wholeSecond(-100), pages: [ids.map { Self.instance($0) }], database: store.identity)
        #expect(SpoolReplay.run(spool: spool, store: store, logger: logger).replayed == 1)

        // The killed run saw one stopped and one new on its first page, then died mid-line.
        let page = [Self.instance(ids[0], state: "stopped"), Self.instance("i-bnew0000001")]
        let writer = try spoolPoll(spool, at: Self.wholeSecond(-50), pages: [page], database: store.identity,
                                   interrupted: true, tail: "{\"Kind\":\"page\",\"Account\":\"1111")
        // While its writer lives (holds the lock), the .tmp is left alone.
        #expect(SpoolReplay.run(spool: spool, store: store, logger: logger).replayed == 0)
        #expect(Self.files(spool).count == 1 && Self.files(spool)[0].hasSuffix(".tmp"))
        writer.abandon()  // as the kernel closes the file (and drops the lock) when the process dies
        let result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.replayed == 1 && result.corrupt == 0)
        #expect(Self.files(spool).isEmpty)

        let snap = try mongo.snapshot()
        #expect(StorageTests.types(snap.events(for: ids[0])) == ["appeared", "state_changed"])
        #expect(StorageTests.types(snap.events(for: "i-bnew0000001")) == ["appeared"])
        #expect(!snap.events.contains { $0["Type"] as? String == "vanished" }, "an interrupted poll marks nothing vanished")
        #expect(snap.instances.allSatisfy { $0["Present"] as? Bool == true })
        let record = try #require(snap.polls.last)
        #expect(record["Complete"] as? Bool == false)
        #expect((record["Regions"] as? [[String: Any]])?.first?["ErrorCode"] as? String == "Interrupted")
    }

    @Test func anUnreadableTmpIsSetAsideAndAnEmptyOneRemoved() throws {
        let mongo = try TestMongo(.mock)
        let store = try openStore(mongo)
        defer { store.close() }
        let spool = Spool(directory: Harness.temporaryDirectory())
        try Data("\u{1}garbage\n".utf8).write(to: spool.directory.appendingPathComponent("20200101T000000Z-1-aa.ndjson.tmp"))
        try Data().write(to: spool.directory.appendingPathComponent("20200101T000001Z-1-bb.ndjson.tmp"))
        let result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.corrupt == 1)
        #expect(Self.files(spool) == ["20200101T000000Z-1-aa.corrupt"])
    }

    @Test func aFileForAnotherDatabaseIsLeftAlone() throws {
        let mongo = try TestMongo(.mock)
        let store = try openStore(mongo)
        defer { store.close() }
        let spool = Spool(directory: Harness.temporaryDirectory())
        try spoolPoll(spool, at: Self.wholeSecond(-10), pages: [[Self.instance("i-c00000001")]],
                      database: MongoURI("mongodb://elsewhere:27017/").databaseIdentity(mongo.database))
        let result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.skipped == 1 && result.replayed == 0)
        #expect(Self.files(spool).count == 1)
        #expect(try mongo.snapshot().polls.isEmpty)
        // The identity holds no secret and ignores host order and case.
        let a = MongoURI("mongodb://u:secret@H1:1,h2:2/?replicaSet=x").databaseIdentity("db")
        #expect(a == MongoURI("mongodb://other:pw@h2:2,h1:1/").databaseIdentity("db"))
        #expect(a != MongoURI("mongodb://h1:1,h2:2/").databaseIdentity("db2"))
    }

    @Test func aCancelledReplayLeavesTheFileAndALaterReplayDuplicatesNothing() throws {
        let mongo = try TestMongo(.mock)
        let store = try openStore(mongo)
        defer { store.close() }
        let spool = Spool(directory: Harness.temporaryDirectory())
        let ids = Self.ids("d", 30)
        let pages = stride(from: 0, to: 30, by: 10).map { ids[$0..<($0 + 10)].map { Self.instance($0) } }
        try spoolPoll(spool, at: Self.wholeSecond(-10), pages: pages, database: store.identity)
        let flag = CancellationFlag()
        flag.cancel()
        let stopped = SpoolReplay.run(spool: spool, store: store, logger: logger, cancellation: flag)
        #expect(stopped.cancelled && stopped.replayed == 0)
        #expect(Self.files(spool).count == 1)

        // A replay interrupted after its first page (as a signal between pages leaves it),
        // then a full one: each instance appeared exactly once.
        let file = try #require(spool.pending().first)
        let entry = try Spool.parse(Array(try Data(contentsOf: file)))
        try store.write(page: entry.pages[0].instances, slice: entry.pages[0].slice, poll: entry.poll)
        #expect(SpoolReplay.run(spool: spool, store: store, logger: logger).replayed == 1)
        let snap = try mongo.snapshot()
        #expect(snap.events.count == 30)
        #expect(snap.instances.count == 30)
    }

    @Test func aLargeMultiPageFileReplaysPageByPage() throws {
        let mongo = try TestMongo(.mock)
        let store = try openStore(mongo)
        defer { store.close() }
        let spool = Spool(directory: Harness.temporaryDirectory())
        let ids = Self.ids("e", 2000)
        let pages = stride(from: 0, to: 2000, by: 500).map { ids[$0..<($0 + 500)].map { Self.instance($0) } }
        try spoolPoll(spool, at: Self.wholeSecond(-10), pages: pages, database: store.identity)
        let result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.replayed == 1 && result.error == nil)
        let snap = try mongo.snapshot()
        #expect(snap.instances.count == 2000)
        #expect(snap.polls.first?["InstanceCount"] as? Int == 2000)
        #expect(Self.files(spool).isEmpty)
    }

    /// Clock stepped back: a live poll older than the stored history still records its
    /// changes and vanishes, dated at the latest stored time, and nothing moves backwards.
    @Test func aLivePollAfterABackwardClockStepRecordsWhatItSaw() throws {
        let mongo = try TestMongo(.mock)
        let store = try openStore(mongo)
        defer { store.close() }
        let ids = Self.ids("f", 3)
        let slice = SliceID(account: "111122223333", region: "eu-west-1")
        let t1 = Self.wholeSecond()
        let first = PollContext(pollId: "p1", account: slice.account, arn: "", polledAt: t1)
        try store.write(page: ids.map { Self.instance($0) }, slice: slice, poll: first)
        try PollRecorder.finish(store: store, poll: first, finishedAt: t1, outcomes: [SliceOutcome(slice: slice, status: .complete, instanceCount: 3)], counts: InstanceCounts())

        let stepped = PollContext(pollId: "p2", account: slice.account, arn: "", polledAt: t1.addingTimeInterval(-7200))
        try store.write(page: [Self.instance(ids[0], state: "stopped"), Self.instance(ids[1], tag: "db")], slice: slice, poll: stepped)
        try PollRecorder.finish(store: store, poll: stepped, finishedAt: stepped.polledAt,
                                outcomes: [SliceOutcome(slice: slice, status: .complete, instanceCount: 2)], counts: InstanceCounts())
        #expect(store.clockStep == 7200)
        let snap = try mongo.snapshot()
        #expect(StorageTests.types(snap.events(for: ids[0])) == ["appeared", "state_changed"])
        #expect(StorageTests.types(snap.events(for: ids[1])) == ["appeared", "changed"])
        #expect(StorageTests.types(snap.events(for: ids[2])) == ["appeared", "vanished"])
        #expect(snap.instance(ids[2])?["Present"] as? Bool == false)
        // Recorded just after the latest stored sighting (a millisecond later), never before it.
        let seen = ids.prefix(2).compactMap { snap.instance($0)?["LastSeen"] as? String }
        let before = try #require(snap.instance(ids[2])?["LastSeen"] as? String)
        #expect(Set(seen).count == 1 && seen.allSatisfy { $0 > before }, "LastSeen never moves backwards: \(seen), \(before)")
        #expect(snap.events.filter { $0["PollId"] as? String == "p2" }.allSatisfy { $0["Time"] as? String == seen.first })

        // A replay of an old poll, by contrast, changes nothing newer.
        var old = PollContext(pollId: "p0", account: slice.account, arn: "", polledAt: t1.addingTimeInterval(-9000))
        old.isReplay = true
        try store.write(page: [Self.instance(ids[0], state: "terminated")], slice: slice, poll: old)
        #expect(try mongo.snapshot().events.count == snap.events.count)
    }

    /// A stored document the client cannot read (nested deeper than `BSONValue.maximumDepth`)
    /// is an error, never a skip: a skipped document would read as a new instance and write a
    /// false `appeared`. The replay stops as for an outage, the file stays, nothing is written.
    @Test func aStoredDocumentTheClientCannotReadStopsTheReplayAndWritesNoEvent() throws {
        let mongo = try TestMongo(.mock)
        let store = try openStore(mongo)
        defer { store.close() }
        let client = try MongoClient(uri: MongoURI(mongo.uri), logger: logger)
        defer { client.close() }
        var deep = BSONValue.string("bottom")
        for _ in 0..<(BSONValue.maximumDepth + 20) { deep = .document([("d", deep)]) }
        let (account, region, id) = ("111122223333", "eu-west-1", "i-deep00000001")
        try client.bulkWrite(mongo.database, "instances", [.insert(.document([
            ("_id", .string("\(account):\(region):\(id)")), ("Account", .string(account)), ("Region", .string(region)),
            ("InstanceId", .string(id)), ("ContentHash", "stale"), ("Present", true), ("Deep", deep),
        ]))])
        #expect(throws: MongoError.self) { try client.find(mongo.database, "instances", filter: [:]) }

        let spool = Spool(directory: Harness.temporaryDirectory())
        try spoolPoll(spool, account: account, region: region, at: Self.wholeSecond(-10), pages: [[Self.instance(id)]],
                      database: store.identity)
        let result = SpoolReplay.run(spool: spool, store: store, logger: logger)
        #expect(result.error?.description.contains("unreadable") == true, "\(String(describing: result.error))")
        #expect(result.replayed == 0 && result.rejected == 0 && result.corrupt == 0)
        #expect(spool.pending().count == 1, "\(Self.files(spool))")
        #expect(try mongo.snapshot().events.isEmpty)
    }

    /// Any bytes give an entry or a typed error, never a trap: mutations of a real file,
    /// truncations at every length, and random bytes.
    @Test func theSpoolParserIsTotal() throws {
        let spool = Spool(directory: Harness.temporaryDirectory())
        let writer = try spoolPoll(spool, at: Self.wholeSecond(), pages: [Self.ids("g", 3).map { Self.instance($0) }], database: "abc")
        let valid = Array(try Data(contentsOf: writer.final))
        let entry = try Spool.parse(valid)
        #expect(entry.pages.count == 1 && entry.end != nil && entry.header.database == "abc")
        for length in 0..<valid.count {
            _ = try? Spool.parse(Array(valid[..<length]))
        }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("{}[]\":,\\\n0123456789.eE+-truefalsnul KindpoePagend\u{0}\u{ff}".utf8)
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[i] = alphabet.randomElement(using: &rng)!
                case 1: bytes.remove(at: i)
                default: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
                if bytes.isEmpty { break }
            }
            _ = try? Spool.parse(bytes)
        }
        for _ in 0..<500 {
            _ = try? Spool.parse((0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
        #expect(throws: Spool.Error.self) { try Spool.parse(Array("{\"Kind\":\"page\",\"Account\":\"1\",\"Region\":\"r\",\"Instances\":[]}\n".utf8)) }
        #expect(throws: Spool.Error.self) { try Spool.parse([]) }
    }
}
