@_spi(Bytes) import AWSCore

/// Why stored BSON could not be read. Carries the byte offset, never the bytes, so the
/// message is safe to log.
public struct BSONError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case truncated, badLength, unterminated, tooDeep, unsupportedType(UInt8)
    }

    private let code: Code
    /// Where in the document the problem was found.
    public let offset: Int

    static func truncated(at offset: Int) -> BSONError { BSONError(code: .truncated, offset: offset) }
    static func badLength(at offset: Int) -> BSONError { BSONError(code: .badLength, offset: offset) }
    static func unterminated(at offset: Int) -> BSONError { BSONError(code: .unterminated, offset: offset) }
    static func tooDeep(at offset: Int) -> BSONError { BSONError(code: .tooDeep, offset: offset) }
    static func unsupportedType(_ type: UInt8, at offset: Int) -> BSONError { BSONError(code: .unsupportedType(type), offset: offset) }

    /// What is wrong, without the offset.
    public var reason: String {
        switch code {
        case .truncated: "document truncated"
        case .badLength: "length out of range"
        case .unterminated: "string or key unterminated"
        case .tooDeep: "documents nested deeper than \(BSONValue.maximumDepth)"
        case let .unsupportedType(type): "type 0x\(String(type, radix: 16)) not supported"
        }
    }

    public var description: String { "invalid BSON at byte \(offset): \(reason)" }
}

extension BSONValue {
    /// MongoDB's own nesting limit; also keeps the reader's recursion, and the value's
    /// recursive release, well inside a small thread stack.
    public static let maximumDepth = 100

    /// Decodes a document from raw BSON. Types the poller never writes (ObjectId, binary,
    /// decimal, ...) come back as their nearest readable form or as null; it only reads back
    /// what it stored. Total: every length is checked against its enclosing document before
    /// it is used, so no input can move the reader backwards or past the end, and every byte
    /// is read through the span's checked subscript.
    static func decode(_ bytes: Span<UInt8>) throws(BSONError) -> BSONValue {
        var reader = Reader(position: 0)
        let members = try reader.document(bytes, end: bytes.count, depth: 1)
        return .document(members)
    }

    /// A document in an array's bytes (tests, the fuzzer).
    public static func decode(_ bytes: [UInt8]) throws(BSONError) -> BSONValue { try decode(bytes.span) }

    /// A cursor over the document's span, which each read takes as a parameter.
    private struct Reader {
        var position: Int

        /// A little-endian integer of `size` bytes (at most eight) that must end by `end`.
        private mutating func read(_ bytes: Span<UInt8>, size: Int, end: Int) throws(BSONError) -> UInt64 {
            guard size <= end - position else { throw BSONError.truncated(at: position) }
            var v: UInt64 = 0
            for k in 0..<size { v |= UInt64(bytes[position + k]) << (8 * UInt64(k)) }
            position += size
            return v
        }

        mutating func int32(_ bytes: Span<UInt8>, end: Int) throws(BSONError) -> Int32 {
            Int32(truncatingIfNeeded: try read(bytes, size: 4, end: end))
        }

        mutating func int64(_ bytes: Span<UInt8>, end: Int) throws(BSONError) -> Int64 {
            Int64(bitPattern: try read(bytes, size: 8, end: end))
        }

        mutating func byte(_ bytes: Span<UInt8>, end: Int) throws(BSONError) -> UInt8 {
            UInt8(truncatingIfNeeded: try read(bytes, size: 1, end: end))
        }

        /// Moves past `count` bytes, which must lie before `end`.
        mutating func skip(_ count: Int, end: Int) throws(BSONError) {
            guard count >= 0, count <= end - position else { throw BSONError.badLength(at: position) }
            position += count
        }

        mutating func cstring(_ bytes: Span<UInt8>, end: Int) throws(BSONError) -> String {
            var nul = position
            while nul < end, bytes[nul] != 0 { nul += 1 }
            guard nul < end else { throw BSONError.unterminated(at: position) }
            let s = JSONGrammar.text(bytes.extracting(position..<nul))
            position = nul + 1
            return s
        }

        /// A document whose length prefix starts here and which must end by `end`.
        mutating func document(_ bytes: Span<UInt8>, end: Int, depth: Int) throws(BSONError) -> [(String, BSONValue)] {
            guard depth <= BSONValue.maximumDepth else { throw BSONError.tooDeep(at: position) }
            let start = position
            let length = Int(try int32(bytes, end: end))
            guard length >= 5, length <= end - start else { throw BSONError.badLength(at: start) }
            let documentEnd = start + length
            var members: [(String, BSONValue)] = []
            while true {
                let type = try byte(bytes, end: documentEnd)
                if type == 0 { break }
                let key = try cstring(bytes, end: documentEnd - 1)
                members.append((key, try value(bytes, type, end: documentEnd - 1, depth: depth)))
            }
            guard position == documentEnd else { throw BSONError.badLength(at: position) }
            return members
        }

        mutating func value(_ bytes: Span<UInt8>, _ type: UInt8, end: Int, depth: Int) throws(BSONError) -> BSONValue {
            switch type {
            case 0x01: return .double(Double(bitPattern: try read(bytes, size: 8, end: end)))
            case 0x02, 0x0D, 0x0E: return .string(try string(bytes, end: end))
            case 0x03: return .document(try document(bytes, end: end, depth: depth + 1))
            case 0x04: return .array(try document(bytes, end: end, depth: depth + 1).map(\.1))
            case 0x05:
                let n = Int(try int32(bytes, end: end))
                guard n >= 0 else { throw BSONError.badLength(at: position - 4) }
                try skip(1 + n, end: end)  // subtype byte, then n bytes
                return .null
            case 0x07:
                let start = position
                try skip(12, end: end)
                var id: [UInt8] = []
                for k in start..<position { id.append(bytes[k]) }
                return .string(Hex.encode(id))
            case 0x08: return .bool(try byte(bytes, end: end) != 0)
            case 0x09: return .date(try int64(bytes, end: end))
            case 0x0A, 0x06, 0x7F, 0xFF: return .null
            case 0x0B:
                _ = try cstring(bytes, end: end)  // pattern
                _ = try cstring(bytes, end: end)  // options
                return .null
            case 0x10: return .int32(try int32(bytes, end: end))
            case 0x11, 0x12: return .int64(try int64(bytes, end: end))
            case 0x13:
                try skip(16, end: end)
                return .null
            default: throw BSONError.unsupportedType(type, at: position - 1)
            }
        }

        /// A length-prefixed string: the length counts the trailing NUL, which must be there.
        mutating func string(_ bytes: Span<UInt8>, end: Int) throws(BSONError) -> String {
            let n = Int(try int32(bytes, end: end))
            guard n >= 1, n <= end - position, bytes[position + n - 1] == 0 else { throw BSONError.badLength(at: position) }
            let s = JSONGrammar.text(bytes.extracting(position..<(position + n - 1)))
            position += n
            return s
        }
    }
}
