/// JSON straight to BSON, for instance documents the storage fast path writes from rendered
/// JSON: the same elements `BSONValue(JSONValue.parse(json))` would encode (integers that fit
/// in 32 bits as int32, others as int64, key order kept), with no value tree in between.
/// Total: the parser's own rules, depth cap and errors; anything it refuses throws here too.
extension BSONWriter {
    /// The members of the JSON object in `bytes[range]`, appended as elements of the document
    /// being written (the caller opened it).
    mutating func appendMembers(ofJSONObject bytes: [UInt8], in range: Range<Int>) throws(JSONValue.ParseError) {
        guard range.lowerBound >= 0, range.upperBound <= bytes.count else {
            throw JSONValue.ParseError(offset: 0, reason: "range outside the text")
        }
        var parser = JSONValue.Parser(bytes: bytes, position: range.lowerBound)
        parser.skipSpace()
        guard parser.position < range.upperBound, bytes[parser.position] == UInt8(ascii: "{") else {
            throw parser.fail("expected an object")
        }
        try parser.members(into: &self, depth: 0)
        parser.skipSpace()
        guard parser.position == range.upperBound else { throw parser.fail("trailing characters") }
    }
}

extension JSONValue.Parser {
    /// An object's members as BSON elements; `position` is at its `{`.
    mutating func members(into writer: inout BSONWriter, depth: Int) throws(JSONValue.ParseError) {
        guard depth < 200 else { throw fail("nested too deeply") }
        position += 1
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return }
        while true {
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
            let typeAt = writer.bytes.count
            if let run = plainASCIIString() {
                writer.key(.null, utf8: bytes[run])
            } else {
                writer.key(.null, try string())
            }
            skipSpace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            position += 1
            skipSpace()
            try element(into: &writer, typeAt: typeAt, depth: depth + 1)
            skipSpace()
            guard position < bytes.count else { throw fail("truncated object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// One value's payload; its element's type byte (at `typeAt`) is set once the value is read.
    mutating func element(into writer: inout BSONWriter, typeAt: Int, depth: Int) throws(JSONValue.ParseError) {
        guard depth < 200 else { throw fail("nested too deeply") }
        guard position < bytes.count else { throw fail("truncated") }
        switch bytes[position] {
        case UInt8(ascii: "{"):
            writer.retype(at: typeAt, .document)
            let start = writer.begin()
            try members(into: &writer, depth: depth)
            writer.end(start)
        case UInt8(ascii: "["):
            writer.retype(at: typeAt, .array)
            let start = writer.begin()
            try items(into: &writer, depth: depth)
            writer.end(start)
        case UInt8(ascii: "\""):
            writer.retype(at: typeAt, .string)
            if let run = plainASCIIString() { writer.string(utf8: bytes[run]) } else { writer.string(try string()) }
        case UInt8(ascii: "t"): _ = try expect("true", .null); writer.retype(at: typeAt, .bool); writer.bool(true)
        case UInt8(ascii: "f"): _ = try expect("false", .null); writer.retype(at: typeAt, .bool); writer.bool(false)
        case UInt8(ascii: "n"): _ = try expect("null", .null); writer.retype(at: typeAt, .null)
        default:
            switch try number() {
            case let .int(i):
                if let small = Int32(exactly: i) { writer.retype(at: typeAt, .int32); writer.int32(small) } else { writer.retype(at: typeAt, .int64); writer.int64(i) }
            case let .double(d): writer.retype(at: typeAt, .double); writer.double(d)
            default: throw fail("bad number")
            }
        }
    }

    /// An array's items as elements keyed "0", "1", ...; `position` is at its `[`.
    private mutating func items(into writer: inout BSONWriter, depth: Int) throws(JSONValue.ParseError) {
        position += 1
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return }
        var index = 0
        while true {
            skipSpace()
            let typeAt = writer.bytes.count
            writer.index(.null, index)
            try element(into: &writer, typeAt: typeAt, depth: depth + 1)
            index += 1
            skipSpace()
            guard position < bytes.count else { throw fail("truncated array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    /// The bytes of a string at `position` that is one run of printable ASCII with no escape
    /// (nearly every string EC2 sends), consumed; nil, with nothing consumed, for any other.
    private mutating func plainASCIIString() -> Range<Int>? {
        var end = position + 1
        while end < bytes.count {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            end += 1
        }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        defer { position = end + 1 }
        return (position + 1)..<end
    }
}
