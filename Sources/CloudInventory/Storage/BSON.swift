import Foundation

/// A BSON value, built in Swift and handed to libbson as bytes (`bson_new_from_data`).
///
/// Debian's libbson is built with `BSON_EXTRA_ALIGN`, so `bson_t` cannot live on the Swift
/// stack; building the bytes here and giving libbson a finished buffer sidesteps that and is
/// faster than calling `bson_append_*` per field.
public indirect enum BSONValue: Sendable, Equatable {
    case double(Double)
    case string(String)
    case document([(String, BSONValue)])
    case array([BSONValue])
    case bool(Bool)
    case null
    case int32(Int32)
    case int64(Int64)
    /// Milliseconds since the epoch (BSON UTC datetime).
    case date(Int64)

    public static func == (a: BSONValue, b: BSONValue) -> Bool {
        switch (a, b) {
        case let (.double(x), .double(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.document(x), .document(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.array(x), .array(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        case let (.int32(x), .int32(y)): return x == y
        case let (.int64(x), .int64(y)): return x == y
        case let (.date(x), .date(y)): return x == y
        default: return false
        }
    }

    public static func date(_ d: Date) -> BSONValue { .date(Int64((d.timeIntervalSince1970 * 1000).rounded())) }

    /// JSON as stored: integers that fit in 32 bits become int32 (what the shell and drivers
    /// use for small numbers), larger ones int64.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case let .bool(b): self = .bool(b)
        case let .int(i): self = Int32(exactly: i).map { .int32($0) } ?? .int64(i)
        case let .double(d): self = .double(d)
        case let .string(s): self = .string(s)
        case let .array(a): self = .array(a.map(BSONValue.init))
        case let .object(members): self = .document(members.map { ($0.key, BSONValue($0.value)) })
        }
    }

    /// Back to JSON, for comparing stored documents with fresh ones. Dates become ISO strings.
    public var json: JSONValue {
        switch self {
        case .null: return .null
        case let .bool(b): return .bool(b)
        case let .int32(i): return .int(Int64(i))
        case let .int64(i): return .int(i)
        case let .double(d): return .double(d)
        case let .string(s): return .string(s)
        case let .date(ms): return .string(UTCTime.iso8601(Date(timeIntervalSince1970: Double(ms) / 1000)))
        case let .array(a): return .array(a.map(\.json))
        case let .document(d): return .object(d.map { JSONMember($0.0, $0.1.json) })
        }
    }

    public subscript(key: String) -> BSONValue? {
        guard case let .document(members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        if case let .string(s) = self { return s }
        return nil
    }

    public var intValue: Int64? {
        switch self {
        case let .int32(i): return Int64(i)
        case let .int64(i): return i
        case let .double(d): return Int64(exactly: d)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case let .bool(b) = self { return b }
        return nil
    }

    public var dateValue: Date? {
        if case let .date(ms) = self { return Date(timeIntervalSince1970: Double(ms) / 1000) }
        return nil
    }

    public var arrayValue: [BSONValue]? {
        if case let .array(a) = self { return a }
        return nil
    }

    // MARK: encoding

    /// The document's bytes. Only documents encode at top level.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case let .document(members): Self.writeDocument(members.lazy.map { ($0.0, $0.1) }, to: &out)
        case let .array(items): Self.writeDocument(items.enumerated().lazy.map { (String($0.offset), $0.element) }, to: &out)
        default: preconditionFailure("only documents encode at top level")
        }
        return out
    }

    /// An array is a document keyed "0", "1", ...: written without a String per index.
    private static func writeArray(_ items: [BSONValue], to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: [0, 0, 0, 0])
        for (i, value) in items.enumerated() {
            out.append(value.typeByte)
            appendIndex(i, to: &out)
            value.writePayload(to: &out)
        }
        out.append(0)
        let length = Int32(out.count - start)
        withUnsafeBytes(of: length.littleEndian) { raw in
            for i in 0..<4 { out[start + i] = raw[i] }
        }
    }

    @inline(__always)
    private static func appendIndex(_ i: Int, to out: inout [UInt8]) {
        if i < 10 {
            out.append(UInt8(ascii: "0") + UInt8(i))
        } else {
            out.append(contentsOf: String(i).utf8)
        }
        out.append(0)
    }

    private static func writeDocument<S: Sequence>(_ members: S, to out: inout [UInt8]) where S.Element == (String, BSONValue) {
        let start = out.count
        out.append(contentsOf: [0, 0, 0, 0])
        for (key, value) in members {
            out.append(value.typeByte)
            appendKey(key, to: &out)
            value.writePayload(to: &out)
        }
        out.append(0)
        let length = Int32(out.count - start)
        withUnsafeBytes(of: length.littleEndian) { raw in
            for i in 0..<4 { out[start + i] = raw[i] }
        }
    }

    /// A key as a C string: NUL bytes (which would end it early) are left out, without a copy
    /// of the key when it has none, as model names never do.
    @inline(__always)
    private static func appendKey(_ key: String, to out: inout [UInt8]) {
        var key = key
        key.withUTF8 { utf8 in
            if utf8.isEmpty || memchr(utf8.baseAddress!, 0, utf8.count) == nil {
                out.append(contentsOf: utf8)
            } else {
                out.append(contentsOf: utf8.lazy.filter { $0 != 0 })
            }
        }
        out.append(0)
    }

    private var typeByte: UInt8 {
        switch self {
        case .double: return 0x01
        case .string: return 0x02
        case .document: return 0x03
        case .array: return 0x04
        case .bool: return 0x08
        case .date: return 0x09
        case .null: return 0x0A
        case .int32: return 0x10
        case .int64: return 0x12
        }
    }

    private func writePayload(to out: inout [UInt8]) {
        switch self {
        case let .double(d): withUnsafeBytes(of: d.bitPattern.littleEndian) { out.append(contentsOf: $0) }
        case let .string(s):
            var s = s
            s.withUTF8 { utf8 in
                withUnsafeBytes(of: Int32(utf8.count + 1).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: utf8)
            }
            out.append(0)
        case let .document(members): Self.writeDocument(members.lazy.map { ($0.0, $0.1) }, to: &out)
        case let .array(items): Self.writeArray(items, to: &out)
        case let .bool(b): out.append(b ? 1 : 0)
        case .null: break
        case let .int32(i): withUnsafeBytes(of: i.littleEndian) { out.append(contentsOf: $0) }
        case let .int64(i), let .date(i): withUnsafeBytes(of: i.littleEndian) { out.append(contentsOf: $0) }
        }
    }
}

extension BSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int32) { self = .int32(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(dictionaryLiteral elements: (String, BSONValue)...) { self = .document(elements) }
    public init(arrayLiteral elements: BSONValue...) { self = .array(elements) }
}
