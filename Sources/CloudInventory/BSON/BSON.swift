import AWSCore
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
        var writer = BSONWriter()
        write(to: &writer)
        return writer.bytes
    }

    /// This value as the element `key` of the document being written.
    func writeElement(_ key: String, to writer: inout BSONWriter) {
        writer.key(elementType, key)
        writePayload(to: &writer)
    }

    /// This document or array's bytes through `writer`. Only documents and arrays stand
    /// alone; a scalar is only ever an element (`writeElement`).
    func write(to writer: inout BSONWriter) {
        switch self {
        case let .document(members):
            let start = writer.begin()
            for (key, value) in members { value.writeElement(key, to: &writer) }
            writer.end(start)
        case let .array(items):
            let start = writer.begin()
            for (i, value) in items.enumerated() {
                writer.index(value.elementType, i)
                value.writePayload(to: &writer)
            }
            writer.end(start)
        default: preconditionFailure("only documents encode at top level")
        }
    }

    private var elementType: BSONWriter.ElementType {
        switch self {
        case .double: return .double
        case .string: return .string
        case .document: return .document
        case .array: return .array
        case .bool: return .bool
        case .date: return .date
        case .null: return .null
        case .int32: return .int32
        case .int64: return .int64
        }
    }

    private func writePayload(to writer: inout BSONWriter) {
        switch self {
        case let .double(d): writer.double(d)
        case let .string(s): writer.string(s)
        case .document, .array: write(to: &writer)
        case let .bool(b): writer.bool(b)
        case .null: break
        case let .int32(i): writer.int32(i)
        case let .int64(i), let .date(i): writer.int64(i)
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
