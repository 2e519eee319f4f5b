@testable import AWSCore
@_spi(Fuzzing) @testable import CloudInventory
import Foundation
import Testing

/// Every parser of outside data throws a typed error on hostile input, and none recurses as
/// deep as its input (issue 9). The deep cases run on a worker-sized (1 MiB) stack.
@Suite struct ParserTotalityTests {
    static let deepXML = Array((String(repeating: "<a>", count: 10_000) + String(repeating: "</a>", count: 10_000)).utf8)

    /// The Query readers stream with no recursion: a 10,000-level body is read through to
    /// its end, and a value holding it is a typed error.
    @Test func deepXMLIsReadWithoutRecursionOnAWorkerStack() {
        onWorkerSizedStack {
            #expect((try? QueryResponse.fields(Self.deepXML, [["b"]]))?.values == [nil])
            #expect(throws: XMLError.self) { try QueryResponse.fields(Self.deepXML, [["a"]]) }
            let error = QueryResponse.error(from: HTTPResponse(status: 400, headers: [], body: Self.deepXML), operation: "sts:GetCallerIdentity")
            #expect(error.errorCode == "HTTP400")
        }
    }

    @Test func aValueAtAnyDepthIsFound() throws {
        let depth = 200
        let xml = String(repeating: "<a>", count: depth) + "x" + String(repeating: "</a>", count: depth)
        #expect(try QueryResponse.fields(Array(xml.utf8), [Array(repeating: "a", count: depth - 1)]).values == ["x"])
        #expect(try QueryResponse.fields(Array(xml.utf8), [Array(repeating: "a", count: depth)]).values == [nil])
    }

    /// Unknown elements are skipped by a loop, so a deep one inside an instance is harmless.
    @Test func deepUnknownElementsInAPageAreSkippedOnAWorkerStack() {
        let deep = String(repeating: "<x>", count: 10_000) + String(repeating: "</x>", count: 10_000)
        let page = Array(("<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-1</instanceId>"
            + deep + "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>").utf8)
        onWorkerSizedStack {
            #expect((try? EC2Client.decodeInstancesPage(page, region: "r"))?.instances.count == 1)
            #expect((try? ShapeDecoder.renderInstancesPage(page, region: "r"))?.count == 1)
        }
    }

    /// The shape decoder recurses along the model, not the input: that is bounded only while
    /// the generated shape graph has no cycle.
    @Test func theModelsShapeGraphIsAcyclicAndShallow() {
        func depth(_ shape: Int, _ path: Set<Int>) -> Int {
            #expect(!path.contains(shape), "shape \(shape) contains itself")
            guard !path.contains(shape) else { return 0 }
            switch EC2Model.shapes[shape] {
            case .scalar: return 1
            case let .list(_, _, member): return 1 + depth(member, path.union([shape]))
            case let .structure(_, members): return 1 + (members.map { depth($0.shape, path.union([shape])) }.max() ?? 0)
            }
        }
        #expect(depth(EC2Model.describeInstancesResult, []) <= 16)
        #expect(depth(EC2Model.describeRegionsResult, []) <= 16)
    }

    @Test(arguments: [
        #""\uD800\u0041""#, #""\uDFFF""#, #""\uD800""#, #""\uD800\""#, #""\uDBFF\uDBFF""#, #""\u12""#, #""\u12"#,
        #""\u+123""#, #""\u-123""#, #""\uD800\u+DC0""#, #"["\uDC00\uD800"]"#,
    ])
    func badUnicodeEscapesAreParseErrors(_ json: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(json.utf8)) }
    }

    @Test func goodUnicodeEscapesDecode() throws {
        #expect(try JSONValue.parse(Array(#""\uD83D\uDE00\u00e9\u0041""#.utf8)) == .string("😀éA"))
    }

    @Test(arguments: ["1e999", "-1e999", "-", "01", "1.", ".5", "1e", "+1", "--1", "0x10", "1e+", "Infinity", "NaN"])
    func badOrOutOfRangeNumbersAreParseErrors(_ json: String) {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(json.utf8)) }
    }

    @Test func numbersInRangeKeepTheirType() throws {
        #expect(try JSONValue.parse(Array("[9223372036854775807,-0,1e-05,99999999999999999999,1E+2]".utf8))
            == .array([.int(.max), .int(0), .double(1e-05), .double(1e20), .double(100)]))
    }

    /// JSON straight to BSON (the storage fast path) takes exactly what the parser takes, and
    /// gives the bytes of the parsed value's BSON; what the parser refuses, it refuses.
    @Test(arguments: [
        #"{}"#, #"{"a":1,"b":-2147483649,"c":2147483647,"d":1.5,"e":1e2,"f":-0,"g":99999999999999999999}"#,
        #"{"s":"plain","t":"\u00e9\"\\\/\b\f\n\r\t","u":"\uD83D\uDE00","v":"ünï","w":""}"#,
        #"{"a":[],"b":[1,[2,{"c":null}],true,false],"o":{"p":{"q":{}}}," k\u0000ey":"x"}"#,
        #" { "a" : [ 1 , 2 ] } "#, #"{"a":1,"a":2}"#,
        #"[1]"#, #""s""#, #"{"a":}"#, #"{"a":1,}"#, #"{"a":01}"#, #"{"a":1e999}"#, #"{"a":"\uD800"}"#, #"{"a":"x"#,
        #"{"a":tru}"#, #"{"a":[1,]}"#, #"{a:1}"#, #"{"a":1}x"#, #"{"a":"\q"}"#, "{\"a\":\"\u{1}\"}",
    ])
    func jsonToBSONTakesWhatTheParserTakes(_ json: String) throws {
        try Self.expectTranscodingMatchesTheParser(Array(json.utf8))
    }

    static func expectTranscodingMatchesTheParser(_ bytes: [UInt8]) throws {
        var writer = BSONWriter()
        let start = writer.begin()
        let transcoded = Result { () throws(JSONValue.ParseError) in try writer.appendMembers(ofJSONObject: bytes, in: 0..<bytes.count) }
        writer.end(start)
        switch (try? JSONValue.parse(bytes)).map(BSONValue.init) {
        case let .some(.document(members)):
            #expect((try? transcoded.get()) != nil, "\(String(decoding: bytes, as: UTF8.self))")
            #expect(writer.bytes == BSONValue.document(members).encoded(), "\(String(decoding: bytes, as: UTF8.self))")
            var fromValue = BSONWriter()
            let document = fromValue.begin()
            if case let .object(parsed) = try JSONValue.parse(bytes) { for m in parsed { m.value.writeElement(m.key, to: &fromValue) } }
            fromValue.end(document)
            #expect(fromValue.bytes == writer.bytes, "from the value")
        default:
            #expect(throws: JSONValue.ParseError.self, "\(String(decoding: bytes, as: UTF8.self))") { try transcoded.get() }
        }
    }

    /// The writer grows from its smallest room, and one reused writer (`reset`) writes each
    /// document exactly as a fresh one does: the store encodes a page's updates this way.
    @Test func aReusedWriterWritesWhatAFreshOneWrites() throws {
        var reused = BSONWriter(capacity: 0)
        for n in [0, 1, 7, 300, 40, 5_000, 2] {
            var members: [(String, BSONValue)] = []
            for i in 0..<n {
                let value: BSONValue = i % 3 == 0 ? .string(String(repeating: "x", count: i % 70)) : .int64(Int64(i))
                members.append(("k\(i)", value))
            }
            let nested: BSONValue = ["a": .array([.bool(true), .null, .double(1.5)])]
            members.append(("nested", nested))
            let document = BSONValue.document(members)
            reused.reset()
            document.write(to: &reused)
            let bytes = reused.bytes
            #expect(bytes == document.encoded(), "\(n) members")
            #expect(reused.count == bytes.count)
            let decoded = try BSONValue.decode(bytes)
            #expect(decoded == document, "decodes back")
        }
    }

    /// A span of a larger text is read as that span alone: blanks after it do not count.
    @Test func aSpanIsTranscodedAsTheSliceParses() throws {
        let text = Array(#"{"a":1} , {"b":2}"#.utf8)
        var writer = BSONWriter()
        let start = writer.begin()
        try writer.appendMembers(ofJSONObject: text, in: 0..<8)  // `{"a":1} `
        writer.end(start)
        #expect(writer.bytes == BSONValue(try JSONValue.parse(text[0..<8])).encoded())
        var refused = BSONWriter()
        #expect(throws: JSONValue.ParseError.self) { try refused.appendMembers(ofJSONObject: text, in: 0..<5) }
    }

    @Test func invalidUTF8AndDeepNestingTranscodeAsTheyParse() throws {
        try Self.expectTranscodingMatchesTheParser(Array(#"{"a":"bad "#.utf8) + [0xC3, 0x28, 0x22, 0x7D])
        try Self.expectTranscodingMatchesTheParser(Array(#"{"\#u{FF}":1}"#.utf8))
        for depth in [198, 199, 200, 201, 10_000] {
            let deep = #"{"a":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
            try Self.expectTranscodingMatchesTheParser(Array(deep.utf8))
        }
    }

    @Test func deepJSONIsATypedErrorOnAWorkerStack() {
        onWorkerSizedStack {
            #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(String(repeating: "[", count: 10_000).utf8)) }
            #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(String(repeating: #"{"a":"#, count: 10_000).utf8)) }
            let ok = String(repeating: "[", count: 199) + String(repeating: "]", count: 199)
            #expect((try? JSONValue.parse(Array(ok.utf8))) != nil)
        }
    }

    static func bson(_ bytes: [UInt8]) throws(BSONError) -> BSONValue {
        try BSONValue.decode(bytes)
    }

    static let sample = BSONValue.document([("_id", "i-1"), ("n", .int32(3)), ("big", .int64(1 << 40)), ("at", .date(1)),
                                            ("tags", .array(["a", .document([("k", .bool(true))])])), ("none", .null), ("x", .double(0.5))])

    @Test(arguments: [
        [0xFB, 0xFF, 0xFF, 0xFF, 0x00],                                  // negative document length
        [0xFF, 0xFF, 0xFF, 0x7F, 0x00],                                  // Int32.max: beyond the end
        [0x0D, 0x00, 0x00, 0x00, 0x02, 0x61, 0x00, 0xF0, 0xFF, 0xFF, 0xFF, 0x00, 0x00],  // negative string length
        [0x0D, 0x00, 0x00, 0x00, 0x05, 0x61, 0x00, 0xFE, 0xFF, 0xFF, 0xFF, 0x00, 0x00],  // negative binary length
        [0x0C, 0x00, 0x00, 0x00, 0x03, 0x61, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00],        // inner document past the outer
        [0x08, 0x00, 0x00, 0x00, 0x07, 0x61, 0x00, 0x00],                // ObjectId past the end
        [0x08, 0x00, 0x00, 0x00, 0x20, 0x61, 0x00, 0x00],                // unknown type
        [0x06, 0x00, 0x00, 0x00, 0x01, 0x00],                            // no terminator where one is due
        [0x05, 0x00, 0x00],                                              // truncated length
    ] as [[UInt8]])
    func hostileBSONIsATypedError(_ bytes: [UInt8]) {
        #expect(throws: BSONError.self) { try Self.bson(bytes) }
    }

    @Test func deepBSONIsATypedErrorOnAWorkerStack() {
        var value = BSONValue.document([])
        for _ in 0..<150 { value = .document([("a", value)]) }
        let bytes = value.encoded()
        onWorkerSizedStack {
            #expect(throws: BSONError.self) { try Self.bson(bytes) }
        }
    }

    /// Every truncation of a real document, and every byte of it set to a few hostile values,
    /// decodes or throws; a round trip of the untouched document is exact.
    @Test func everyTruncationAndByteFlipOfADocumentIsTotal() throws {
        let bytes = Self.sample.encoded()
        #expect(try Self.bson(bytes) == Self.sample)
        for n in 0..<bytes.count { _ = try? Self.bson(Array(bytes[..<n])) }
        for i in bytes.indices {
            for b: UInt8 in [0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF] {
                var copy = bytes
                copy[i] = b
                _ = try? Self.bson(copy)
            }
        }
    }

    /// Every seed and every crash the fuzzer ever found, through the same entry points
    /// `make fuzz` uses (Tests/Fuzz/corpus and Tests/Fuzz/regressions, one folder per target).
    @Test func fuzzSeedsAndRegressionsRunClean() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")
        var count = 0
        for kind in ["corpus", "regressions"] {
            let base = fuzz.appendingPathComponent(kind)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? [] {
                let target = try #require(FuzzEntryPoints.target(named: name), "no fuzz target \(name)")
                for file in try FileManager.default.contentsOfDirectory(atPath: base.appendingPathComponent(name).path) {
                    let bytes = try [UInt8](Data(contentsOf: base.appendingPathComponent(name).appendingPathComponent(file)))
                    onWorkerSizedStack { target.run(bytes) }
                    count += 1
                }
            }
        }
        #expect(count >= FuzzEntryPoints.targets.count)
    }
}
