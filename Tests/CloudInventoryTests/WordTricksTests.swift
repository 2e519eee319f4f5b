@_spi(Bytes) @testable import AWSCore
import Testing
@testable import CloudInventory

/// The word-at-a-time code held to byte-at-a-time definitions, wherever the word edges fall.
/// `OutputBuffer` copies a string's plain runs a word at a time as it scans them, with an
/// overlapping last word; `[UInt8]` scans first and copies after. Both must write what a
/// byte-by-byte escaper writes. `Word.equal` must agree with `==` on every length.
@Suite struct WordTricksTests {
    /// JSON's escapes, one byte at a time: the definition the fast writers are held to.
    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), b]
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case ..<0x20: out += Array("\\u00".utf8) + Array("0123456789abcdef".utf8)[Int(b >> 4)...Int(b >> 4)]
                + Array("0123456789abcdef".utf8)[Int(b & 15)...Int(b & 15)]
            default: out.append(b)
            }
        }
        return out + [UInt8(ascii: "\"")]
    }

    @Test func bothWritersEscapeAsTheReferenceDoes() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("abcXYZ019 -_.:/".utf8) + [0x22, 0x5C, 0x00, 0x01, 0x09, 0x0A, 0x0D, 0x1F, 0x7F, 0xC3, 0xA9, 0xE2, 0x82, 0xAC]
        let shared = OutputBuffer(capacity: 1)
        for round in 0..<20_000 {
            let length = Int.random(in: 0...40, using: &generator)
            // Mostly plain, so long runs and word edges are met as often as escapes.
            let bytes = (0..<length).map { _ in
                Bool.random(using: &generator) || Bool.random(using: &generator) ? UInt8.random(in: 0x61...0x7A, using: &generator)
                    : alphabet.randomElement(using: &generator)!
            }
            let expected = Self.reference(bytes)
            var array: [UInt8] = []
            var fresh = OutputBuffer(capacity: Int.random(in: 1...16, using: &generator))
            let before = shared.count
            var reused = shared
            JSONValue.writeString(utf8: bytes.span, to: &array)
            JSONValue.writeString(utf8: bytes.span, to: &fresh)
            JSONValue.writeString(utf8: bytes.span, to: &reused)
            #expect(array == expected, "round \(round): \(bytes)")
            #expect(fresh.bytes == expected, "round \(round): \(bytes)")
            #expect(Array(shared.bytes[before...]) == expected, "round \(round): \(bytes)")
        }
    }

    @Test func wordEqualityAgreesWithByteEquality() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            let a = (0..<count).map { _ in UInt8.random(in: 0...3, using: &generator) }
            var b = a
            if count > 0, Bool.random(using: &generator) { b[Int.random(in: 0..<count, using: &generator)] ^= UInt8.random(in: 1...255, using: &generator) }
            let equal = Word.equal(a.span, 0, b.span, 0, count: count)
            #expect(equal == (a == b), "\(a) \(b)")
        }
    }

    /// The audited copy stores short spans as words (the last overlapping) and long ones in
    /// one move: every length, at every offset, writes exactly its bytes and nothing past them.
    @Test func theCopyWritesEveryLengthExactly() {
        for length in 0...72 {
            let source = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            for offset in 0..<9 {
                let out = OutputBuffer(capacity: 1)
                for _ in 0..<offset { out.append(UInt8(ascii: "x")) }
                out.append(source.span)
                out.append(UInt8(ascii: "y"))
                #expect(out.bytes == Array(repeating: UInt8(ascii: "x"), count: offset) + source + [UInt8(ascii: "y")], "length \(length), offset \(offset)")
            }
        }
    }

    /// The renderer copies a value straight between quotes when one scan finds it plain for
    /// both XML and JSON, and escapes it otherwise: random values of every length, with
    /// quotes, backslashes, controls, entities and multi-byte characters at any word edge,
    /// render as the tree does.
    @Test func everyValueRendersAsTheTreeDoesWhereverItsWordsEnd() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces: [String] = ["\"", "\\", "\t", "\n", "\u{01}", "é", "€", "&amp;", "&lt;", "&#65;", ">", "'", " ", "/"]
        for _ in 0..<300 {
            let values: [String] = (0..<8).map { _ in
                let length = Int.random(in: 0...24, using: &generator)
                return (0..<length).map { _ in
                    Int.random(in: 0..<6, using: &generator) == 0 ? pieces.randomElement(using: &generator)!
                        : String(UnicodeScalar(UInt8.random(in: 0x61...0x7A, using: &generator)))
                }.joined()
            }
            var body = "<DescribeInstancesResponse><reservationSet><item><instancesSet>"
            for value in values {
                body += "<item><instanceId>i-\(value.utf8.count)</instanceId><architecture>\(value)</architecture><keyName>\(value)</keyName></item>"
            }
            body += "</instancesSet></item></reservationSet></DescribeInstancesResponse>"
            let bytes = Array(body.utf8)
            let tree = try EC2Client.decodeInstancesPage(bytes, region: "eu-west-1").instances
            let rendered = try ShapeDecoder.renderInstancesPage(bytes, region: "eu-west-1", contents: [.json, .rows, .hashes])
            #expect(rendered.json == RenderedPage(values: tree, nextToken: nil, hashing: false).json, "\(values)")
            #expect(rendered.hashes == tree.map(InventoryStore.contentHash))
        }
    }
}
