@_spi(Bytes) import AWSCore

/// The walk's JSON visitor: each instance's JSON in the wire's field order, its row's cells
/// and, for storage, the records of its canonical form (`RenderBuffer`), gathered into a
/// `RenderedPage`.
struct RenderVisitor: PageVisitor {
    var page = RenderedPage(json: [], count: 0, states: [:], nextToken: nil)
    private var buffer: RenderBuffer
    /// The reservation's instances, until its id and owner are known.
    private var pending: [(buffer: RenderBuffer, empty: Bool)] = []
    /// Where the canonical bytes are put together for each hash; its storage is reused.
    private let scratch = OutputBuffer(capacity: 4096)
    private let region: String
    private let keepsRows: Bool
    private let hashing: Bool
    private let table = ShapeDecoder.memberTable

    init(region: String, keepsRows: Bool, hashing: Bool) {
        self.region = region
        self.keepsRows = keepsRows
        self.hashing = hashing
        buffer = RenderBuffer(capacity: 0, hashing: false)
    }

    mutating func openObject() { buffer.openObject() }

    mutating func closeObject(role: RowPlan.Role) {
        if role == .tag { buffer.closeTag() }
        buffer.closeObject()
    }

    // Kept by the inline audit of issue 24: the measurement is in ShapeWalk.swift (`markSeen`).
    @inline(__always)
    mutating func key(shape: Int, member m: Int, entry: Int, first: Bool) {
        buffer.key(entry, in: table, first: first)
    }

    mutating func openList() { buffer.append(UInt8(ascii: "[")) }

    mutating func listItem(first: Bool) {
        if !first { buffer.append(UInt8(ascii: ",")) }
    }

    mutating func closeList() { buffer.append(UInt8(ascii: "]")) }

    mutating func boolean(_ value: Bool) { buffer.out.append(value ? ByteLiteral.jsonTrue : .jsonFalse) }

    @inline(__always)
    mutating func scalar(_ kind: EC2Model.Scalar, _ scanner: inout XMLScanner, element: Range<Int>, cell: RowPlan.Slot) throws(XMLError) {
        if cell != .none {
            // A string cell of the row: the same bytes as any other string.
            let text = try scanner.readText(startName: element)
            buffer.string(text)
            buffer.fill(cell, text)
            return
        }
        if kind == .string {
            try string(&scanner, element: element)
        } else {
            try nonString(kind, &scanner, element: element)
        }
    }

    /// Nearly every string is one run that XML and JSON both take as it is: found by one
    /// scan and copied between quotes. Anything else (an entity, a quote to escape, a byte
    /// of a multi-byte character) is read as `readText` reads it and escaped.
    @inline(__always)
    private mutating func string(_ scanner: inout XMLScanner, element: Range<Int>) throws(XMLError) {
        if let plain = scanner.plainValue(startName: element, plainJSON: true) {
            buffer.out.append(UInt8(ascii: "\""), scanner.bytes.span.extracting(plain), UInt8(ascii: "\""))
            return
        }
        let (range, text) = try scanner.readTextOrRange(startName: element)
        if let range {
            JSONValue.writeString(utf8: scanner.bytes.span.extracting(range), to: &buffer.out)
        } else {
            JSONValue.writeString(text, to: &buffer.out)
        }
    }

    @inline(__always)
    private mutating func nonString(_ kind: EC2Model.Scalar, _ scanner: inout XMLScanner, element: Range<Int>) throws(XMLError) {
        let (range, text) = try scanner.readTextOrRange(startName: element)
        if let range, ShapeDecoder.writeScalar(kind, scanner.bytes.span.extracting(range), to: &buffer.out) {
            return
        }
        let value = range.map { String(decoding: scanner.bytes[$0], as: UTF8.self) } ?? text
        try ShapeDecoder.scalar(kind, value, at: scanner.position).write(to: &buffer.out)
    }

    mutating func beginInstance() { buffer = RenderBuffer(capacity: 4096, hashing: hashing) }

    mutating func restartInstance() { beginInstance() }

    mutating func endInstance(empty: Bool) {
        page.note(buffer.row)
        pending.append((buffer, empty))
    }

    /// Closes each of the reservation's instances with `Region`, `ReservationId` and `OwnerId`.
    mutating func endReservation(id reservationId: String?, owner ownerId: String?) {
        let (ranks, keys) = (ShapeDecoder.canonicalOrder.extraRanks, CanonicalOrder.extraKeys)
        for (var buffer, empty) in pending {
            buffer.row.region = region
            if keepsRows { page.rows.append(buffer.row) }
            let first = page.count == 0
            page.count += 1
            buffer.key(keys[0], first: empty, rank: ranks[0])
            buffer.string(region)
            buffer.key(keys[1], first: false, rank: ranks[1])
            if let reservationId { buffer.string(reservationId) } else { buffer.out.append(ByteLiteral.jsonNull) }
            buffer.key(keys[2], first: false, rank: ranks[2])
            if let ownerId { buffer.string(ownerId) } else { buffer.out.append(ByteLiteral.jsonNull) }
            buffer.closeObject()
            if !first { page.json.append(UInt8(ascii: ",")) }
            let start = page.json.count
            buffer.out.copyBytes(to: &page.json)
            page.spans.append(start..<page.json.count)
            if hashing { page.hashes.append(buffer.contentHash(scratch: scratch)) }
        }
        pending.removeAll(keepingCapacity: true)
    }
}

/// The walk's row visitor (text and csv without storage): every value is read and checked
/// as the JSON visitor reads it, so the same pages fail, but only the row's cells are kept.
struct RowVisitor: PageVisitor {
    var page = RenderedPage(json: [], count: 0, states: [:], nextToken: nil)
    private var buffer = RenderBuffer(capacity: 0, hashing: false)
    private var pending: [InstanceRow] = []
    private let region: String
    private let keepsRows: Bool

    init(region: String, keepsRows: Bool) {
        self.region = region
        self.keepsRows = keepsRows
    }

    func openObject() {}

    mutating func closeObject(role: RowPlan.Role) {
        if role == .tag { buffer.closeTag() }
    }

    func key(shape: Int, member m: Int, entry: Int, first: Bool) {}
    func openList() {}
    func listItem(first: Bool) {}
    func closeList() {}
    func boolean(_ value: Bool) {}

    mutating func scalar(_ kind: EC2Model.Scalar, _ scanner: inout XMLScanner, element: Range<Int>, cell: RowPlan.Slot) throws(XMLError) {
        if cell != .none {
            buffer.fill(cell, try scanner.readText(startName: element))
        } else if kind == .string {
            try scanner.checkText(startName: element)
        } else {
            _ = try ShapeDecoder.scalar(kind, try scanner.readText(startName: element), at: scanner.position)
        }
    }

    mutating func beginInstance() { buffer = RenderBuffer(capacity: 0, hashing: false) }

    mutating func restartInstance() { beginInstance() }

    mutating func endInstance(empty: Bool) {
        page.note(buffer.row)
        pending.append(buffer.row)
    }

    mutating func endReservation(id: String?, owner: String?) {
        for var row in pending {
            row.region = region
            if keepsRows { page.rows.append(row) }
            page.count += 1
        }
        pending.removeAll(keepingCapacity: true)
    }
}

extension RenderedPage {
    /// An instance's id and state, as soon as it is read.
    mutating func note(_ row: InstanceRow) {
        states[row.state ?? "unknown", default: 0] += 1
        stateNames.append(row.state)
        if let id = row.id { instanceIds.append(id) } else { idless.append(stateNames.count - 1) }
    }
}
