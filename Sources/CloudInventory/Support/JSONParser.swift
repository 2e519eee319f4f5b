/// Parses JSON into `JSONValue`, keeping key order and telling integers from doubles, so a
/// spooled poll comes back exactly as it was printed.
extension JSONValue {
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let offset: Int
        public let reason: String
        public var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    public static func parse<C: Collection>(_ bytes: C) throws(ParseError) -> JSONValue where C.Element == UInt8 {
        var parser = Parser(bytes: Array(bytes))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.position == parser.bytes.count else { throw ParseError(offset: parser.position, reason: "trailing characters") }
        return value
    }

    struct Parser {
        let bytes: [UInt8]
        var position = 0

        @inline(__always)
        mutating func skipSpace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        func fail(_ reason: String) -> ParseError { ParseError(offset: position, reason: reason) }

        mutating func expect(_ literal: StaticString, _ value: JSONValue) throws(ParseError) -> JSONValue {
            let n = literal.utf8CodeUnitCount
            guard position + n <= bytes.count else { throw fail("truncated") }
            let matches = literal.withUTF8Buffer { lit in (0..<n).allSatisfy { bytes[position + $0] == lit[$0] } }
            guard matches else { throw fail("unexpected token") }
            position += n
            return value
        }

        mutating func value(depth: Int) throws(ParseError) -> JSONValue {
            guard depth < 200 else { throw fail("nested too deeply") }
            guard position < bytes.count else { throw fail("truncated") }
            switch bytes[position] {
            case UInt8(ascii: "{"):
                position += 1
                var members: [JSONMember] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a key") }
                    let key = try string()
                    skipSpace()
                    guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':'") }
                    position += 1
                    skipSpace()
                    members.append(JSONMember(key, try value(depth: depth + 1)))
                    skipSpace()
                    guard position < bytes.count else { throw fail("truncated object") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                position += 1
                var items: [JSONValue] = []
                skipSpace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard position < bytes.count else { throw fail("truncated array") }
                    if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
                    if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try expect("true", .bool(true))
            case UInt8(ascii: "f"): return try expect("false", .bool(false))
            case UInt8(ascii: "n"): return try expect("null", .null)
            default: return try number()
            }
        }

        /// RFC 8259 numbers only: `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`. Integers that
        /// fit in Int64 stay integers; anything else must be a finite double.
        mutating func number() throws(ParseError) -> JSONValue {
            let start = position
            if peek(UInt8(ascii: "-")) { position += 1 }
            guard digits() > 0 else { throw ParseError(offset: start, reason: "bad number") }
            let integerDigits = bytes[(bytes[start] == UInt8(ascii: "-") ? start + 1 : start)..<position]
            guard integerDigits.count == 1 || integerDigits.first != UInt8(ascii: "0") else {
                throw ParseError(offset: start, reason: "leading zero in number")
            }
            var isInteger = true
            if peek(UInt8(ascii: ".")) {
                position += 1
                isInteger = false
                guard digits() > 0 else { throw ParseError(offset: start, reason: "bad number") }
            }
            if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
                position += 1
                isInteger = false
                if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { position += 1 }
                guard digits() > 0 else { throw ParseError(offset: start, reason: "bad number") }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            if isInteger, let i = Int64(text) { return .int(i) }
            guard let d = Double(text), d.isFinite else { throw ParseError(offset: start, reason: "number out of range") }
            return .double(d)
        }

        private func peek(_ byte: UInt8) -> Bool { position < bytes.count && bytes[position] == byte }

        /// Skips ASCII digits and says how many there were.
        private mutating func digits() -> Int {
            let start = position
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
            return position - start
        }

        mutating func string() throws(ParseError) -> String {
            position += 1  // opening quote
            // Most strings have no escape: one scan, one String, no byte-by-byte copy.
            let start = position
            let plain = bytes.withUnsafeBufferPointer { buffer -> (String, end: Int)? in
                var end = start
                while end < buffer.count, buffer[end] != UInt8(ascii: "\""), buffer[end] != UInt8(ascii: "\\"), buffer[end] >= 0x20 { end += 1 }
                guard end < buffer.count, buffer[end] == UInt8(ascii: "\"") else { return nil }
                return (String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self), end)
            }
            if let (string, end) = plain {
                position = end + 1
                return string
            }
            var out: [UInt8] = []
            while position < bytes.count {
                let c = bytes[position]
                if c == UInt8(ascii: "\"") {
                    position += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if c == UInt8(ascii: "\\") {
                    guard position + 1 < bytes.count else { throw fail("truncated escape") }
                    let e = bytes[position + 1]
                    position += 2
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        let scalar = try unicodeEscape()
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default: throw fail("bad escape")
                    }
                } else {
                    out.append(c)
                    position += 1
                }
            }
            throw fail("unterminated string")
        }

        /// The scalar of a `\uXXXX` escape whose `\u` was just read; a high surrogate must be
        /// followed by an escaped low one. Anything else (a lone or reversed surrogate, a
        /// truncated escape) is an error, never arithmetic on an unpaired half.
        mutating func unicodeEscape() throws(ParseError) -> Unicode.Scalar {
            let first = try hex4()
            var value = first
            if (0xD800..<0xDC00).contains(first) {
                guard peek(UInt8(ascii: "\\")), position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u") else {
                    throw fail("unpaired surrogate \\u\(String(first, radix: 16))")
                }
                position += 2
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw fail("bad low surrogate \\u\(String(low, radix: 16))") }
                value = 0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(value) else { throw fail("unpaired surrogate \\u\(String(value, radix: 16))") }
            return scalar
        }

        /// Exactly four hex digits (no sign, no prefix).
        mutating func hex4() throws(ParseError) -> UInt32 {
            guard position + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[position..<(position + 4)] {
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: throw fail("bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            position += 4
            return value
        }
    }
}
