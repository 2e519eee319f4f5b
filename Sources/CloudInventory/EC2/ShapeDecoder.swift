import Foundation

/// Decodes one element, and everything below it, into JSON by the model table.
///
/// Recursion here follows the model's shapes, never the input: a structure or list recurses
/// only into a member shape, the shape graph is acyclic (at most 11 levels deep;
/// `ParserTotalityTests` holds that), and elements the model does not know are skipped by
/// `XMLScanner.skipElement`, which counts depth in a loop.
struct ShapeDecoder {
    var scanner: XMLScanner
    let shapes = EC2Model.shapes
    /// Which rendered members are captured into the row (`PageRenderer`): every text/csv
    /// cell, or only the id and state when the page keeps no rows (`contents`).
    private(set) var rowPlan = ShapeDecoder.rowPlan
    /// Each structure's members in canonical order (`PageRenderer`).
    let canonicalOrder = ShapeDecoder.canonicalOrder
    /// The members' wire names, keys and ranks, flat (`PageRenderer`).
    let memberTable = ShapeDecoder.memberTable
    /// What `renderInstancesPage` puts in the page.
    var contents: RenderedPage.Contents = [.json, .rows] {
        didSet { rowPlan = keepsRows ? ShapeDecoder.rowPlan : ShapeDecoder.idAndStatePlan }
    }
    /// No JSON: each instance is checked as the renderer would check it, only its row kept.
    var rowsOnly: Bool { !contents.contains(.json) }
    /// Keep each instance's text/csv row in the page.
    var keepsRows: Bool { contents.contains(.rows) }
    /// Per structure shape and member, the member that followed it last time (`member(…after:)`);
    /// empty until a page is rendered.
    var follows: [UInt8] = []

    init(_ bytes: [UInt8]) {
        scanner = XMLScanner(bytes)
    }

    /// Finds the root element and decodes it as `shape`. Returns the root's name too.
    mutating func decodeDocument(as shape: Int) throws(XMLError) -> (root: String, value: JSONValue) {
        let root = try scanner.root()
        return (scanner.name(root), try decode(shape: shape, element: root))
    }

    /// Streams the root structure `shape`: each item of its list member `list` is decoded and
    /// handed to `body` on its own; the root's scalar members go to `scalar`; the rest is skipped.
    /// Returns whether the list element was there at all (an empty list still counts).
    @discardableResult
    mutating func forEachItem(of shape: Int, list: String, scalar: (String, String) -> Void,
                              _ body: (JSONValue) -> Void) throws(XMLError) -> Bool {
        var sawList = false
        guard case let .structure(_, members) = shapes[shape] else { preconditionFailure("not a structure") }
        let root = try scanner.root()
        while let child = try scanner.nextChild(of: root) {
            guard let m = member(members, named: child) else {
                try scanner.skipElement(startName: child)
                continue
            }
            switch shapes[members[m].shape] {
            case .scalar:
                scalar(members[m].name, try scanner.readText(startName: child))
            case let .list(_, _, itemShape) where members[m].name == list:
                sawList = true
                while let item = try nextItem(of: child) {
                    body(try decode(shape: itemShape, element: item))
                }
            default:
                try scanner.skipElement(startName: child)
            }
        }
        return sawList
    }

    /// The next `<item>` of a list element; other children are skipped. EC2 names every list
    /// entry `item`; anything else would be a model change.
    mutating func nextItem(of list: Range<Int>) throws(XMLError) -> Range<Int>? {
        while let child = try scanner.nextChild(of: list) {
            if scanner.name(child, equals: "item") { return child }
            try scanner.skipElement(startName: child)
        }
        return nil
    }

    mutating func decode(shape index: Int, element: Range<Int>) throws(XMLError) -> JSONValue {
        switch shapes[index] {
        case let .scalar(kind):
            let text = try scanner.readText(startName: element)
            return try Self.scalar(kind, text, at: scanner.position)
        case let .structure(_, members):
            // Fields keep the order EC2 sends them in (stable, so content hashes are too). A
            // repeated scalar or structure replaces the earlier one, as in botocore; a repeated
            // list is joined to it, as the JSON fast path and the page's own list do, so no
            // instance is ever dropped without a word.
            var object: [JSONMember] = []
            var seen: (UInt64, UInt64) = (0, 0)  // members already present; EC2 structures have < 128
            while let child = try scanner.nextChild(of: element) {
                if let m = member(members, named: child) {
                    let value = try decode(shape: members[m].shape, element: child)
                    let bit: UInt64 = 1 << UInt64(m & 63)
                    let repeated = m < 64 ? seen.0 & bit != 0 : m < 128 ? seen.1 & bit != 0 : object.contains { $0.key == members[m].name }
                    if m < 64 { seen.0 |= bit } else if m < 128 { seen.1 |= bit }
                    if repeated, let i = object.firstIndex(where: { $0.key == members[m].name }) {
                        if case let .array(earlier) = object[i].value, case let .array(later) = value {
                            object[i].value = .array(earlier + later)
                        } else {
                            object[i].value = value
                        }
                    } else {
                        object.append(JSONMember(members[m].name, value))
                    }
                } else {
                    try scanner.skipElement(startName: child)
                }
            }
            return .object(object)
        case let .list(_, _, memberShape):
            var items: [JSONValue] = []
            while let item = try nextItem(of: element) {
                items.append(try decode(shape: memberShape, element: item))
            }
            return .array(items)
        }
    }

    /// The member `range` names, trying first the one that followed `previous` (-1: none yet)
    /// in this structure last time: EC2 sends every instance's elements in the same order, so
    /// the guess nearly always hits and the scan of the members is skipped.
    /// The guess is inlined; a miss is not.
    @inline(__always)
    mutating func member(_ members: [EC2Model.Member], named range: Range<Int>, shape: Int, after previous: Int) -> Int? {
        let slot = shape &* 129 &+ previous &+ 1
        if slot < follows.count {
            let guess = Int(follows[slot])
            if guess < members.count {
                let name = memberTable.wireName(memberTable.first(shape) &+ guess)
                if name.count == range.count, scanner.equal(range, UnsafeRawPointer(name.baseAddress!)) { return guess }
            }
        }
        return memberMissed(members, named: range, slot: slot)
    }

    /// `member(…after:)` when the guess missed: the scan, and the next guess noted.
    @inline(never)
    private mutating func memberMissed(_ members: [EC2Model.Member], named range: Range<Int>, slot: Int) -> Int? {
        guard let m = member(members, named: range) else { return nil }
        guard slot < follows.count else { return m }
        if m < 255 { follows[slot] = UInt8(m) }
        return m
    }

    func member(_ members: [EC2Model.Member], named range: Range<Int>) -> Int? {
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
            guard let v = Int64(text) ?? Int64(text.trimmingCharacters(in: .whitespaces)) else {
                throw XMLError.malformed("\"\(text.prefix(40))\" is not an integer", at: offset)
            }
            return .int(v)
        case .double:
            guard let v = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw XMLError.malformed("\"\(text.prefix(40))\" is not a number", at: offset)
            }
            return .double(v)
        case .timestamp:
            if let fast = UTCTime.cliTimestamp(utcText: text) { return .string(fast) }
            guard let date = UTCTime.parse(text) else { return .string(text) }
            return .string(UTCTime.cliTimestamp(date))
        }
    }
}
