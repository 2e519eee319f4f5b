@_spi(Bytes) @testable import AWSCore
import Testing
@testable import CloudInventory

/// The safe reading and writing primitives every parser and writer goes through: each is held
/// to a plain byte-at-a-time model on every length and offset near the ends, and reads past
/// an end answer nil or false instead of trapping or reading something else.
struct ByteCursorTests {
    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(state: seed)
        let alphabet = Array("ab<&\"\\\n}é".utf8)
        return (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
    }

    @Test func theCursorPeeksAndExpectsWithinItsBytes() {
        let text = Array("  <!--x-->".utf8)
        var cursor = ByteCursor()
        cursor.skipBlanks(in: text.span)
        #expect(cursor.position == 2)
        let next = cursor.peek(text.span), far = cursor.peek(text.span, ahead: 100)
        #expect(next == UInt8(ascii: "<") && far == nil)
        let opened = cursor.expect("<!--", in: text.span), closedEarly = cursor.expect("-->", in: text.span)
        #expect(opened && !closedEarly)
        let close = cursor.firstIndex(of: "-->", in: text.span)
        #expect(close == 7)
        cursor.advance(by: 8)
        let atEnd = cursor.isAtEnd(text.span), afterEnd = cursor.peek(text.span), expected = cursor.expect(UInt8(ascii: ">"), in: text.span)
        #expect(atEnd && afterEnd == nil && !expected)
    }

    @Test(arguments: 0..<4)
    func aLiteralMatchesExactlyWhereTheBytesSpellIt(seed: UInt64) {
        let literals: [ByteLiteral] = ["", "<", "<!", "-->", "true", "<![CDATA[", "&amp;&lt;&gt;abc"]
        let spelled = ["", "<", "<!", "-->", "true", "<![CDATA[", "&amp;&lt;&gt;abc"].map { Array($0.utf8) }
        for n in 0..<40 {
            var haystack = Self.bytes(n, seed: seed &+ UInt64(n))
            for (literal, bytes) in zip(literals, spelled) {
                if bytes.count <= n, n > 0 { haystack.replaceSubrange((n - bytes.count)..<n, with: bytes) }
                for offset in -1...(n + 1) {
                    let expected = offset >= 0 && offset + bytes.count <= n && Array(haystack[offset..<(offset + bytes.count)]) == bytes
                    let matches = literal.matches(haystack.span, at: offset)
                    #expect(matches == expected, "\(n) \(offset)")
                }
            }
        }
    }

    @Test(arguments: 0..<4)
    func wordScansAgreeWithBytes(seed: UInt64) {
        for n in 0..<48 {
            let a = Self.bytes(n, seed: seed &* 31 &+ UInt64(n)), b = Self.bytes(n, seed: seed &* 17 &+ UInt64(n))
            for start in 0...n {
                let both = a[start...].firstIndex { $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: "&") } ?? n
                let found = Word.firstIndex(of: UInt8(ascii: "<"), or: UInt8(ascii: "&"), in: a.span, from: start)
                #expect(found == both)
                let escape = a[start...].firstIndex { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } ?? n
                let ascii = Word.isASCII(a.span, start..<n)
                #expect(ascii == a[start...].allSatisfy { $0 < 0x80 })
                let firstEscape = Word.firstToEscapeInJSON(a.span, from: start)
                #expect(firstEscape == escape)
                let count = n - start
                let same = Word.equal(a.span, start, a.span, start, count: count)
                let equal = Word.equal(a.span, start, b.span, start, count: count)
                #expect(same)
                #expect(equal == (a[start...] == b[start...]))
                let order = Word.compare(a.span, start, b.span, start, count: count)
                let expected = a[start...].lexicographicallyPrecedes(b[start...]) ? -1 : a[start...] == b[start...] ? 0 : 1
                #expect(order == expected)
            }
            // A range past either end is unequal, never a read outside.
            let pastEnd = Word.equal(a.span, 1, b.span, 0, count: n), beforeStart = Word.equal(a.span, 0, b.span, -1, count: 1)
            #expect(!pastEnd && !beforeStart)
        }
    }

    @Test(arguments: 0..<4)
    func theOutputBufferHoldsWhatWasWritten(seed: UInt64) {
        var rng = SeededGenerator(state: seed)
        let buffer = OutputBuffer(capacity: 1)
        var model: [UInt8] = []
        for _ in 0..<2_000 {
            let piece = Self.bytes(Int(rng.next() % 24), seed: rng.next())
            switch rng.next() % 4 {
            case 0:
                buffer.append(piece.span)
                model += piece
            case 1:
                if let byte = piece.first { buffer.append(byte); model.append(byte) }
            case 2:
                let value = UInt32(truncatingIfNeeded: rng.next())
                buffer.append(littleEndian: value)
                model += (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
            default:
                let start = piece.isEmpty ? 0 : Int(rng.next() % UInt64(piece.count))
                let end = buffer.appendPlainJSON(piece.span, from: start)
                let expected = piece[start...].firstIndex { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } ?? piece.count
                #expect(end == max(expected, start))
                model += piece[start..<max(end, start)]
            }
        }
        #expect(buffer.bytes == model)
        let written = buffer.withBytes { $0.count }
        #expect(written == model.count)
        buffer.store(UInt8(7), at: 0)
        #expect(buffer.bytes.first == 7)
        buffer.reset()
        #expect(buffer.count == 0 && buffer.bytes.isEmpty)
    }
}
