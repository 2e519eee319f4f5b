@_spi(Bytes) import AWSCore
import Foundation

/// Reads EC2's XML by the model table: one walk (`ShapeWalk.swift`) feeding a visitor that
/// writes JSON, keeps rows, or builds values. Here: the state the walk reads with, member
/// lookup and the scalars' conversion.
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

    /// Finds the root element and reads it as `shape` into a value (DescribeRegions). Returns
    /// the root's name too.
    mutating func decodeDocument(as shape: Int) throws(XMLError) -> (root: String, value: JSONValue) {
        let root = try scanner.root()
        follows = [UInt8](repeating: .max, count: shapes.count * 129)
        var tree = TreeVisitor(region: "")
        try walkDocument(as: shape, root: root, into: &tree) { $0 = TreeVisitor(region: "") }
        return (scanner.name(root), tree.document ?? .object([]))
    }

    /// The next `<item>` of a list element; other children are skipped. EC2 names every list
    /// entry `item`; anything else would be a model change.
    mutating func nextItem(of list: Range<Int>) throws(XMLError) -> Range<Int>? {
        while let child = try scanner.nextChild(of: list) {
            if scanner.name(child, equals: .item) { return child }
            try scanner.skipElement(startName: child)
        }
        return nil
    }

    /// The member `range` names, trying first the one that followed `previous` (-1: none yet)
    /// in this structure last time: EC2 sends every instance's elements in the same order, so
    /// the guess nearly always hits and the scan of the members is skipped.
    /// The guess is inlined; a miss is not.
    // Kept by the inline audit of issue 24: the measurement is in ShapeWalk.swift (`markSeen`).
    @inline(__always)
    mutating func member(_ members: [EC2Model.Member], named range: Range<Int>, shape: Int, after previous: Int) -> Int? {
        let slot = shape &* 129 &+ previous &+ 1
        if slot < follows.count {
            let guess = Int(follows[slot])
            if guess < members.count {
                let name = memberTable.wireName(memberTable.first(shape) &+ guess)
                if name.count == range.count, scanner.equal(range, memberTable.bytes.span.extracting(name)) { return guess }
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
            if scanner.equal(range, m.xmlBytes.span) { return i }
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
