@_spi(Bytes) @testable import AWSCore
@testable import CloudInventory
import Testing

/// One JSON grammar (`JSONGrammar`) feeds every reader: the value tree, JSON → BSON, and
/// replay's page reader. A rule made once holds for all of them: the same refusals at the
/// same byte, with the same reason, and the same depth cap.
@Suite struct JSONGrammarTests {
    static func treeError(_ bytes: [UInt8]) -> JSONValue.ParseError? {
        do { _ = try JSONValue.parse(bytes); return nil } catch { return error }
    }

    static func bsonError(_ bytes: [UInt8]) -> JSONValue.ParseError? {
        var writer = BSONWriter()
        let start = writer.begin()
        defer { writer.end(start) }
        do { try writer.appendMembers(ofJSONObject: bytes, in: 0..<bytes.count); return nil } catch { return error }
    }

    @Test(arguments: [
        #"{"a":}"#, #"{"a":1,}"#, #"{"a":01}"#, #"{"a":1e999}"#, #"{"a":"\uD800"}"#, #"{"a":"x"#, #"{"a":tru}"#,
        #"{"a":[1,]}"#, #"{a:1}"#, #"{"a":1}x"#, #"{"a":"\q"}"#, #"{"a":-}"#, #"{"a":1.}"#, #"{"a" 1}"#, #"{"a":[1 2]}"#,
        #"{"a":"\u12"}"#, #"{"a":"\uD800\u0041"}"#, #"{"a":{"b":[}}"#, "{\"a\":\"\\",
    ])
    func theTreeAndBSONRefuseAtTheSameByteForTheSameReason(_ json: String) throws {
        let bytes = Array(json.utf8)
        let tree = try #require(Self.treeError(bytes), "\(json)")
        let bson = try #require(Self.bsonError(bytes), "\(json)")
        #expect(tree.offset == bson.offset && tree.reason == bson.reason, "\(json): \(tree) / \(bson)")
    }

    @Test func theDepthCapIsTheSameConstantForTheTreeAndBSON() {
        for depth in [JSONValue.maximumDepth - 2, JSONValue.maximumDepth - 1, JSONValue.maximumDepth] {
            let json = Array((#"{"a":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}").utf8)
            #expect((Self.treeError(json) == nil) == (depth < JSONValue.maximumDepth), "depth \(depth)")
            #expect((Self.treeError(json) == nil) == (Self.bsonError(json) == nil), "depth \(depth)")
        }
    }

    /// Error offsets of a span of a larger text are into the whole text, as before.
    @Test func bsonErrorsCountFromTheWholeText() {
        let text = Array(#"[1] {"a":01}"#.utf8)
        var writer = BSONWriter()
        #expect(throws: JSONValue.ParseError.self) { try writer.appendMembers(ofJSONObject: text, in: 4..<text.count) }
        do {
            try writer.appendMembers(ofJSONObject: text, in: 4..<text.count)
        } catch {
            #expect(error.offset == 9 && error.reason == "leading zero in number")
        }
    }

    /// The page reader is a stricter dialect of the same grammar (the spool writer's form):
    /// what it refuses is left to the tree, which decides.
    @Test func thePageReaderIsTheWritersDialect() {
        let line = Array(#"{"Kind":"page","Account":"1","Region":"r","Instances":[{"InstanceId":"i-1","State":{"Name":"running"}}]}"#.utf8)
        #expect(SpoolPageReader.read(line)?.page.instanceIds == ["i-1"])
        #expect(SpoolPageReader.read(line)?.page.stateNames == ["running"])
        for spaced in [#"{"Kind":"page", "Account""#, #""InstanceId": "i-1""#] {
            let other = Array(String(decoding: line, as: UTF8.self).replacingOccurrences(of: spaced.replacingOccurrences(of: " ", with: ""), with: spaced).utf8)
            #expect(other != line)
            #expect(SpoolPageReader.read(other) == nil)
            #expect((try? JSONValue.parse(other)) == (try? JSONValue.parse(line)))
        }
    }

    @Test func deepPageLinesAreRefusedOnAWorkerStack() {
        onWorkerSizedStack {
            let deep = #"{"Kind":"page","Account":"1","Region":"r","Instances":[{"InstanceId":"i-1","D":"#
                + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000) + "}]}"
            #expect(SpoolPageReader.read(Array(deep.utf8)) == nil)
        }
    }
}
