@testable import AWSCore
@testable import CloudInventory
import Testing

/// Replay reads a spooled page line as a rendered page (`SpoolPageReader`): spans of the line,
/// hashes from its bytes. Whenever it takes a line, it must give what the value path gives for
/// that line (`Spool.parseRecord`, `InventoryStore.contentHash`): the same instances, ids,
/// states and hashes. It must take every line the writer writes for ordinary instances, and
/// may leave any other line to the value path.
@Suite struct SpoolPageReaderTests {
    static let keys = ["a", "b", "ab", "aa", "Code", "Name", "State", "Tags", "é", "a b", "Zeta", "InstanceIdX"]
    static let strings = ["x", "", "q\"\\", "ünï", "line\nfeed\r\ttab", "\u{0}\u{1}\u{1f}\u{7f}", "日本", "running", "a/b"]

    static func scalar(_ rng: inout SeededGenerator) -> JSONValue {
        switch Int.random(in: 0...5, using: &rng) {
        case 0: return .string(strings.randomElement(using: &rng)!)
        case 1: return .int([0, -1, 7, Int64.max, Int64.min, 999_999_999_999_999_999].randomElement(using: &rng)!)
        case 2: return .bool(Bool.random(using: &rng))
        case 3: return .null
        default: return .string(String(Int.random(in: 0...99_999, using: &rng)))
        }
    }

    static func value(depth: Int, _ rng: inout SeededGenerator) -> JSONValue {
        switch depth > 3 ? 0 : Int.random(in: 0...3, using: &rng) {
        case 0, 1: return scalar(&rng)
        case 2: return .array((0..<Int.random(in: 0...3, using: &rng)).map { _ in value(depth: depth + 1, &rng) })
        default: return .object(keys.shuffled(using: &rng).prefix(Int.random(in: 0...5, using: &rng)).map { JSONMember($0, value(depth: depth + 1, &rng)) })
        }
    }

    /// An instance with an id, usually a state, and random members in random order.
    static func instance(_ rng: inout SeededGenerator) -> JSONValue {
        var members = keys.filter { $0 != "State" }.shuffled(using: &rng).prefix(Int.random(in: 0...6, using: &rng)).map { JSONMember($0, value(depth: 1, &rng)) }
        members.append(JSONMember("InstanceId", .string("i-\(UInt32.random(in: 0...UInt32.max, using: &rng))")))
        if Bool.random(using: &rng) {
            members.append(JSONMember("State", .object([JSONMember("Code", .int(16)), JSONMember("Name", .string(["running", "stopped", "é"].randomElement(using: &rng)!))])))
        }
        return .object(members.shuffled(using: &rng))
    }

    static func line(_ instances: [JSONValue], account: String = "123456789012", region: String = "us-east-1") -> [UInt8] {
        var bytes: [UInt8] = []
        JSONValue.object([JSONMember("Kind", "page"), JSONMember("Account", .string(account)), JSONMember("Region", .string(region)),
                          JSONMember("Instances", .array(instances))]).write(to: &bytes)
        return bytes
    }

    /// The reader's answer for `line`, held to the value path's; whether it took the line.
    @discardableResult
    static func expectAgreement(_ line: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let (slice, page) = SpoolPageReader.read(line) else { return false }
        guard case let .page(expectedSlice, instances)? = try? Spool.parseRecord(line) else {
            Issue.record("the reader took a line the value path refuses: \(String(decoding: line, as: UTF8.self))", sourceLocation: sourceLocation)
            return true
        }
        #expect(slice == expectedSlice, sourceLocation: sourceLocation)
        #expect(page.count == instances.count && page.spans.count == instances.count, sourceLocation: sourceLocation)
        #expect((try? page.values()) == instances, sourceLocation: sourceLocation)
        for (k, instance) in instances.enumerated() where k < page.count {
            #expect((try? page.value(at: k)) == instance, sourceLocation: sourceLocation)
            #expect(page.instanceIds[k] == instance["InstanceId"]?.stringValue, sourceLocation: sourceLocation)
            #expect(page.stateNames[k] == instance["State"]?["Name"]?.stringValue, sourceLocation: sourceLocation)
            #expect(page.hashes[k] == InventoryStore.contentHash(instance), "\(instance.serialized())", sourceLocation: sourceLocation)
        }
        var counts = InstanceCounts(), fromPage = InstanceCounts()
        counts.add(instances, slice: slice)
        fromPage.add(states: page.states, slice: slice)
        #expect(counts.byState == fromPage.byState, sourceLocation: sourceLocation)
        return true
    }

    @Test func takesEveryPageTheWriterWritesAndAgrees() {
        var rng = SeededGenerator(state: 21)
        for _ in 0..<1500 {
            let instances = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Self.instance(&rng) }
            let taken = Self.expectAgreement(Self.line(instances))
            #expect(taken, "\(String(decoding: Self.line(instances), as: UTF8.self))")
        }
    }

    @Test func anyOtherFormIsLeftToTheValuePathOrAgrees() {
        var rng = SeededGenerator(state: 22)
        // Each a form the writer never writes, spliced in place of one byte run of a good line.
        let forms = [" ", "\\u00e9", "\\/", "\\b", "\\u000a", "\\u001F", "1.0", "-0", "1e3", "0123", "12345678901234567890",
                     "\u{1}", "\u{ff}", "\"a\":1,\"a\":2", "\"InstanceId\":7", "\"InstanceId\":\"i-\\u0001\"", "\"State\":{\"Name\":3}",
                     "\"State\":\"up\"", "[[[[[[[[", "]", "}", ",", "\"", "\\", "\u{0}", "\u{c3}", "\u{e9}"]
        var took = 0
        for _ in 0..<3000 {
            var line = Self.line((0..<Int.random(in: 1...3, using: &rng)).map { _ in Self.instance(&rng) })
            let form: [UInt8] = forms.randomElement(using: &rng)!.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
            let at = Int.random(in: 0..<line.count, using: &rng)
            line.replaceSubrange(at..<min(line.count, at + Int.random(in: 0...3, using: &rng)), with: form)
            if Self.expectAgreement(line) { took += 1 }
        }
        // Some mutations leave a line the writer could have written: those are still taken.
        #expect(took > 0)
    }

    /// The ranking starts each object from the order the last object of its size sorted to
    /// (`CanonicalRecords.rankKeys`): many objects of one size on one line, their keys drawn
    /// and ordered at random (and sometimes the same as the last), must each hash as their own.
    @Test func objectsOfOneSizeInAnyOrderAgree() {
        var rng = SeededGenerator(state: 24)
        for _ in 0..<40 {
            let instances = (0..<60).map { _ -> JSONValue in
                let members = Self.keys.shuffled(using: &rng).prefix(5).map { JSONMember($0, .int(Int64.random(in: 0...9, using: &rng))) }
                return .object((members + [JSONMember("InstanceId", "i-1")]).shuffled(using: &rng))
            }
            #expect(Self.expectAgreement(Self.line(instances)))
        }
    }

    @Test func deepNestingAndManyKeysAreLeftToTheValuePath() {
        let deep = JSONValue.object([JSONMember("InstanceId", "i-1"),
                                     JSONMember("Deep", (0..<80).reduce(JSONValue.int(1)) { inner, _ in .array([inner]) })])
        #expect(SpoolPageReader.read(Self.line([deep])) == nil)
        let wide = JSONValue.object([JSONMember("InstanceId", "i-1")] + (0..<300).map { JSONMember("k\($0)", .int(Int64($0))) })
        #expect(SpoolPageReader.read(Self.line([wide])) == nil)
        #expect(Self.expectAgreement(Self.line([JSONValue.object([JSONMember("InstanceId", "i-1")] + (0..<200).map { JSONMember("k\($0)", .int(Int64($0))) })])))
    }

    @Test func theHeadAndTailMustBeTheWritersOwn() {
        var rng = SeededGenerator(state: 23)
        let good = Self.line([Self.instance(&rng)])
        #expect(Self.expectAgreement(good))
        for bad in [good + [UInt8(ascii: " ")], Array(good.dropLast()), [UInt8(ascii: " ")] + good,
                    Self.line([.string("i-1")]), Self.line([.object([])]), Self.line([.object([JSONMember("InstanceId", .null)])]),
                    Self.line([Self.instance(&rng)], account: "a\"b"), Self.line([Self.instance(&rng)], region: "\u{1}")] {
            #expect(SpoolPageReader.read(bad) == nil, "\(String(decoding: bad, as: UTF8.self))")
        }
    }
}
