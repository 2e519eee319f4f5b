import Foundation

/// The part of the EC2 service model the poller decodes, as a table.
///
/// The table itself (`EC2Model+Generated.swift`) comes from botocore's model through
/// `scripts/generate-ec2-model.py`, so every field EC2 can return for an instance is decoded
/// under the name, nesting and JSON type the AWS CLI uses, including fields added after this
/// code was written: regenerate, review, ship. Unknown elements are skipped, never fatal.
enum EC2Model {
    enum Scalar: Sendable {
        case string, integer, boolean, timestamp, double
    }

    struct Member: Sendable {
        /// The element name on the wire (`instanceId`).
        let xml: String
        /// The name in the JSON document (`InstanceId`).
        let name: String
        let shape: Int
        let xmlBytes: [UInt8]

        init(xml: String, name: String, shape: Int) {
            self.xml = xml
            self.name = name
            self.shape = shape
            self.xmlBytes = Array(xml.utf8)
        }
    }

    enum Shape: Sendable {
        case scalar(Scalar)
        case structure(String, members: [Member])
        case list(String, item: String, member: Int)
    }
}

/// Decodes one element, and everything below it, into JSON by the model table.
struct ShapeDecoder {
    var scanner: XMLScanner
    private let shapes = EC2Model.shapes

    init(_ bytes: [UInt8]) {
        scanner = XMLScanner(bytes)
    }

    /// Finds the root element and decodes it as `shape`. Returns the root's name too.
    mutating func decodeDocument(as shape: Int) throws(XMLError) -> (root: String, value: JSONValue) {
        while true {
            switch try scanner.next() {
            case let .start(name):
                return (scanner.name(name), try decode(shape: shape, element: name))
            case .text: continue
            case .end: throw XMLError.malformed("end tag before any element", at: scanner.position)
            case .eof: throw XMLError.malformed("empty document", at: scanner.position)
            }
        }
    }

    /// Streams the root structure `shape`: each item of its list member `list` is decoded and
    /// handed to `body` on its own; the root's scalar members go to `scalar`; the rest is skipped.
    mutating func forEachItem(of shape: Int, list: String, scalar: (String, String) -> Void,
                              _ body: (JSONValue) -> Void) throws(XMLError) {
        guard case let .structure(_, members) = shapes[shape] else { preconditionFailure("not a structure") }
        var root: Range<Int>?
        while root == nil {
            switch try scanner.next() {
            case let .start(name): root = name
            case .text: continue
            case .end: throw XMLError.malformed("end tag before any element", at: scanner.position)
            case .eof: throw XMLError.malformed("empty document", at: scanner.position)
            }
        }
        while true {
            switch try scanner.next() {
            case let .start(child):
                guard let m = member(members, named: child) else {
                    try scanner.skipElement(startName: child)
                    continue
                }
                switch shapes[members[m].shape] {
                case .scalar:
                    scalar(members[m].name, try scanner.readText(startName: child))
                case let .list(_, _, itemShape) where members[m].name == list:
                    loop: while true {
                        switch try scanner.next() {
                        case let .start(item):
                            if scanner.name(item, equals: "item") {
                                body(try decode(shape: itemShape, element: item))
                            } else {
                                try scanner.skipElement(startName: item)
                            }
                        case .text: continue
                        case let .end(name):
                            guard scanner.sameName(name, child) else {
                                throw XMLError.malformed("mismatched end tag </\(scanner.name(name))>", at: scanner.position)
                            }
                            break loop
                        case .eof:
                            throw XMLError.malformed("document ends inside <\(scanner.name(child))>", at: scanner.position)
                        }
                    }
                default:
                    try scanner.skipElement(startName: child)
                }
            case .text: continue
            case let .end(name):
                guard scanner.sameName(name, root!) else {
                    throw XMLError.malformed("mismatched end tag </\(scanner.name(name))>", at: scanner.position)
                }
                return
            case .eof:
                throw XMLError.malformed("document ends inside <\(scanner.name(root!))>", at: scanner.position)
            }
        }
    }

    mutating func decode(shape index: Int, element: Range<Int>) throws(XMLError) -> JSONValue {
        switch shapes[index] {
        case let .scalar(kind):
            let text = try scanner.readText(startName: element)
            return try Self.scalar(kind, text, at: scanner.position)
        case let .structure(_, members):
            var values = [JSONValue?](repeating: nil, count: members.count)
            loop: while true {
                switch try scanner.next() {
                case let .start(child):
                    if let m = member(members, named: child) {
                        values[m] = try decode(shape: members[m].shape, element: child)
                    } else {
                        try scanner.skipElement(startName: child)
                    }
                case .text: continue
                case let .end(name):
                    guard scanner.sameName(name, element) else {
                        throw XMLError.malformed("mismatched end tag </\(scanner.name(name))>", at: scanner.position)
                    }
                    break loop
                case .eof:
                    throw XMLError.malformed("document ends inside <\(scanner.name(element))>", at: scanner.position)
                }
            }
            var object: [JSONMember] = []
            object.reserveCapacity(values.count)
            for (i, value) in values.enumerated() {
                if let value { object.append(JSONMember(members[i].name, value)) }
            }
            return .object(object)
        case let .list(_, _, memberShape):
            var items: [JSONValue] = []
            while true {
                switch try scanner.next() {
                case let .start(child):
                    // EC2 names every list entry `item`; anything else would be a model change.
                    if scanner.name(child, equals: "item") {
                        items.append(try decode(shape: memberShape, element: child))
                    } else {
                        try scanner.skipElement(startName: child)
                    }
                case .text: continue
                case let .end(name):
                    guard scanner.sameName(name, element) else {
                        throw XMLError.malformed("mismatched end tag </\(scanner.name(name))>", at: scanner.position)
                    }
                    return .array(items)
                case .eof:
                    throw XMLError.malformed("document ends inside <\(scanner.name(element))>", at: scanner.position)
                }
            }
        }
    }

    private func member(_ members: [EC2Model.Member], named range: Range<Int>) -> Int? {
        let count = range.count
        let first = scanner.bytes[range.lowerBound]
        for (i, m) in members.enumerated() where m.xmlBytes.count == count && m.xmlBytes[0] == first {
            if m.xmlBytes.withUnsafeBytes({ scanner.equal(range, $0.baseAddress!) }) { return i }
        }
        return nil
    }

    /// Scalars are converted the way botocore does: an empty string stays a string, `true`
    /// is the only true boolean, timestamps become the CLI's ISO 8601 form.
    static func scalar(_ kind: EC2Model.Scalar, _ text: String, at offset: Int) throws(XMLError) -> JSONValue {
        switch kind {
        case .string:
            return .string(text)
        case .boolean:
            return .bool(text == "true")
        case .integer:
            guard let v = Int64(text.trimmingCharacters(in: .whitespaces)) else {
                throw XMLError.malformed("\"\(text.prefix(40))\" is not an integer", at: offset)
            }
            return .int(v)
        case .double:
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw XMLError.malformed("\"\(text.prefix(40))\" is not a number", at: offset)
            }
            return .double(v)
        case .timestamp:
            guard let date = UTCTime.parse(text) else { return .string(text) }
            return .string(UTCTime.cliTimestamp(date))
        }
    }
}
