import Glibc

/// Writes DescribeInstances XML straight to JSON by the same shape table as `ShapeDecoder`,
/// without building a value tree: the same field names, nesting, types and order, at a
/// fraction of the allocations. `DecodingTests` holds the two paths to the same output.
extension ShapeDecoder {
    /// Where the instances are in the model: `DescribeInstancesResult.Reservations[].Instances[]`.
    static let instancesPath: (root: [EC2Model.Member], reservation: [EC2Model.Member], instancesMember: Int, instanceShape: Int) = {
        let shapes = EC2Model.shapes
        guard case let .structure(_, rootMembers) = shapes[EC2Model.describeInstancesResult],
              let reservations = rootMembers.first(where: { $0.name == "Reservations" }),
              case let .list(_, _, reservationShape) = shapes[reservations.shape],
              case let .structure(_, reservationMembers) = shapes[reservationShape],
              let instancesMember = reservationMembers.firstIndex(where: { $0.name == "Instances" }),
              case let .list(_, _, instanceShape) = shapes[reservationMembers[instancesMember].shape]
        else { preconditionFailure("EC2 model lacks DescribeInstancesResult.Reservations[].Instances[]") }
        return (rootMembers, reservationMembers, instancesMember, instanceShape)
    }()

    /// The text/csv cells of an instance in the model (`InstanceRow`).
    static let rowPlan = RowPlan(instanceShape: instancesPath.instanceShape, shapes: EC2Model.shapes)

    /// The cells every page carries: the id (pagination) and the state (the summary).
    static let idAndStatePlan = RowPlan(instanceShape: instancesPath.instanceShape, shapes: EC2Model.shapes, cells: [.id, .state])

    /// The members' ranks in canonical order, for the content hash (`RenderBuffer`).
    static let canonicalOrder = CanonicalOrder(shapes: EC2Model.shapes, instanceShape: instancesPath.instanceShape)

    /// The members' wire names, keys and ranks, read through pointers (`MemberTable`).
    static let memberTable = MemberTable(shapes: EC2Model.shapes, order: canonicalOrder)

    /// Without `.json` (text and csv without storage), each instance is checked as the
    /// renderer would check it, but nothing is kept beyond its id, state and row (with
    /// `.rows`): no JSON, no hash.
    static func renderInstancesPage(_ body: [UInt8], region: String,
                                    contents: RenderedPage.Contents = [.json, .rows]) throws(XMLError) -> RenderedPage {
        var decoder = ShapeDecoder(body)
        decoder.contents = contents
        let rowsOnly = decoder.rowsOnly
        let hashing = contents.contains(.hashes) && !rowsOnly
        decoder.follows = [UInt8](repeating: .max, count: decoder.shapes.count * 129)
        var page = RenderedPage(json: [], count: 0, states: [:], nextToken: nil)
        if !rowsOnly { page.json = ByteBufferPool.shared.take(minimumCapacity: body.count) }
        let (rootMembers, reservationMembers, instancesMember, instanceShape) = Self.instancesPath
        let root = try decoder.scanner.root()
        var sawReservations = false
        while let child = try decoder.scanner.nextChild(of: root) {
            switch decoder.member(rootMembers, named: child).map({ rootMembers[$0].name }) {
            case "NextToken":
                page.nextToken = try decoder.scanner.readText(startName: child)
            case "Reservations":
                sawReservations = true
                while let item = try decoder.nextItem(of: child) {
                    try decoder.renderReservation(item, members: reservationMembers, instancesMember: instancesMember,
                                                  instanceShape: instanceShape, region: region, hashing: hashing, into: &page)
                }
            default:
                try decoder.scanner.skipElement(startName: child)
            }
        }
        guard sawReservations else { throw EC2Client.missingReservations(at: decoder.scanner.position) }
        if page.nextToken?.isEmpty == true { page.nextToken = nil }
        return page
    }

    /// One reservation: its instances are rendered into buffers first and closed once the
    /// reservation's id and owner are known, wherever they stand in the XML.
    private mutating func renderReservation(_ element: Range<Int>, members: [EC2Model.Member], instancesMember: Int,
                                            instanceShape: Int, region: String, hashing: Bool,
                                            into page: inout RenderedPage) throws(XMLError) {
        var reservationId: String?
        var ownerId: String?
        var pending: [(buffer: RenderBuffer, empty: Bool)] = []
        while let child = try scanner.nextChild(of: element) {
            guard let m = member(members, named: child) else {
                try scanner.skipElement(startName: child)
                continue
            }
            if m == instancesMember {
                while let item = try nextItem(of: child) {
                    var buffer = RenderBuffer(capacity: rowsOnly ? 0 : 4096, hashing: hashing)
                    let empty = rowsOnly ? try captureRow(shape: instanceShape, element: item, into: &buffer, role: .instance)
                        : try renderObject(shape: instanceShape, element: item, into: &buffer, role: .instance, open: true)
                    let state = buffer.row.state
                    page.states[state ?? "unknown", default: 0] += 1
                    page.stateNames.append(state)
                    if let id = buffer.row.id { page.instanceIds.append(id) }
                    pending.append((buffer, empty))
                }
            } else if members[m].name == "ReservationId" {
                reservationId = try scanner.readText(startName: child)
            } else if members[m].name == "OwnerId" {
                ownerId = try scanner.readText(startName: child)
            } else {
                try scanner.skipElement(startName: child)
            }
        }
        let scratch = OutputBuffer(capacity: 4096)
        for (var buffer, empty) in pending {
            buffer.row.region = region
            if keepsRows { page.rows.append(buffer.row) }
            let first = page.count == 0
            page.count += 1
            if rowsOnly { continue }
            let (ranks, keys) = (canonicalOrder.extraRanks, CanonicalOrder.extraKeys)
            buffer.key(keys[0], first: empty, rank: ranks[0])
            buffer.string(region)
            buffer.key(keys[1], first: false, rank: ranks[1])
            if let reservationId { buffer.string(reservationId) } else { buffer.out.append(ascii: "null") }
            buffer.key(keys[2], first: false, rank: ranks[2])
            if let ownerId { buffer.string(ownerId) } else { buffer.out.append(ascii: "null") }
            buffer.closeObject()
            if !first { page.json.append(UInt8(ascii: ",")) }
            let start = page.json.count
            buffer.out.withUnsafeBufferPointer { page.json.append(contentsOf: $0) }
            page.spans.append(start..<page.json.count)
            if hashing { page.hashes.append(buffer.contentHash(scratch: scratch)) }
        }
    }

    /// Renders a structure. With `open`, the closing brace is left off for the caller to add
    /// fields. `role` says which of the row's cells are in it (`RowPlan`). Returns whether the
    /// structure has no member at all.
    @discardableResult
    private mutating func renderObject(shape: Int, element: Range<Int>, into out: inout RenderBuffer,
                                       role: RowPlan.Role, open: Bool = false) throws(XMLError) -> Bool {
        guard case let .structure(_, members) = shapes[shape] else { preconditionFailure("not a structure") }
        let base = memberTable.first(shape)
        var first = true
        var seen: (UInt64, UInt64) = (0, 0)
        var previous = -1
        out.openObject()
        while let child = try scanner.nextChild(of: element) {
            guard let m = member(members, named: child, shape: shape, after: previous) else {
                try scanner.skipElement(startName: child)
                continue
            }
            try markSeen(m, in: &seen, members)
            previous = m
            out.key(memberTable.jsonKey(base &+ m), first: first, rank: memberTable.rank(base &+ m))
            first = false
            let slot = rowPlan.slot(role, m)
            if slot != .none {
                // A string cell of the row: the same bytes `render` writes for a string.
                let text = try scanner.readText(startName: child)
                out.string(text)
                out.fill(slot, text)
            } else {
                try render(shape: members[m].shape, element: child, into: &out, role: rowPlan.role(role, m))
            }
        }
        if role == .tag { out.closeTag() }
        if !open { out.closeObject() }
        return first
    }

    /// A repeated element would make a duplicate key; it takes the slow, exact path.
    @inline(__always)
    private func markSeen(_ m: Int, in seen: inout (UInt64, UInt64), _ members: [EC2Model.Member]) throws(XMLError) {
        let bit: UInt64 = 1 << UInt64(m & 63)
        if m >= 128 || (m < 64 ? seen.0 & bit : seen.1 & bit) != 0 { throw XMLError.malformed("repeated <\(members[m].xml)>", at: scanner.position) }
        if m < 64 { seen.0 |= bit } else { seen.1 |= bit }
    }

    /// `renderObject` without the JSON: the same elements are read and checked (so the same
    /// pages fail or fall back), only the row's cells are kept.
    private mutating func captureRow(shape: Int, element: Range<Int>, into out: inout RenderBuffer,
                                     role: RowPlan.Role) throws(XMLError) -> Bool {
        guard case let .structure(_, members) = shapes[shape] else { preconditionFailure("not a structure") }
        var seen: (UInt64, UInt64) = (0, 0)
        var previous = -1
        var empty = true
        while let child = try scanner.nextChild(of: element) {
            guard let m = member(members, named: child, shape: shape, after: previous) else {
                try scanner.skipElement(startName: child)
                continue
            }
            try markSeen(m, in: &seen, members)
            previous = m
            empty = false
            let slot = rowPlan.slot(role, m)
            if slot != .none {
                out.fill(slot, try scanner.readText(startName: child))
            } else {
                try capture(shape: members[m].shape, element: child, into: &out, role: rowPlan.role(role, m))
            }
        }
        if role == .tag { out.closeTag() }
        return empty
    }

    private mutating func capture(shape: Int, element: Range<Int>, into out: inout RenderBuffer, role: RowPlan.Role) throws(XMLError) {
        switch shapes[shape] {
        case .structure:
            _ = try captureRow(shape: shape, element: element, into: &out, role: role)
        case let .list(_, _, memberShape):
            while let item = try nextItem(of: element) {
                try capture(shape: memberShape, element: item, into: &out, role: RowPlan.itemRole(role))
            }
        case .scalar(.string):
            try scanner.checkText(startName: element)
        case let .scalar(kind):
            _ = try Self.scalar(kind, try scanner.readText(startName: element), at: scanner.position)
        }
    }

    private mutating func render(shape: Int, element: Range<Int>, into out: inout RenderBuffer, role: RowPlan.Role) throws(XMLError) {
        switch shapes[shape] {
        case .structure:
            try renderObject(shape: shape, element: element, into: &out, role: role)
        case let .list(_, _, memberShape):
            out.append(UInt8(ascii: "["))
            var first = true
            while let item = try nextItem(of: element) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                try render(shape: memberShape, element: item, into: &out, role: RowPlan.itemRole(role))
            }
            out.append(UInt8(ascii: "]"))
        case .scalar(.string):
            // Nearly every string is one plain ASCII run: escaped straight from the body.
            let (range, text) = try scanner.readTextOrRange(startName: element)
            if let range {
                scanner.bytes.withUnsafeBufferPointer { JSONValue.writeString(utf8: UnsafeBufferPointer(rebasing: $0[range]), to: &out.out) }
            } else {
                JSONValue.writeString(text, to: &out.out)
            }
        case let .scalar(kind):
            let (range, text) = try scanner.readTextOrRange(startName: element)
            if let range, scanner.bytes.withUnsafeBufferPointer({ Self.writeScalar(kind, UnsafeBufferPointer(rebasing: $0[range]), to: &out.out) }) {
                return
            }
            let value = range.map { String(decoding: scanner.bytes[$0], as: UTF8.self) } ?? text
            try Self.scalar(kind, value, at: scanner.position).write(to: &out.out)
        }
    }

    /// The booleans, plain integers and UTC timestamps (nearly all non-string scalars) straight
    /// from the body, as `scalar` would write them: `true` and anything else false; digits
    /// without a leading zero, short enough for Int64, as they are; `cliTimestamp`'s form.
    /// Returns false, with nothing written, to leave the rest to `scalar`.
    private static func writeScalar(_ kind: EC2Model.Scalar, _ text: UnsafeBufferPointer<UInt8>, to out: inout OutputBytes) -> Bool {
        switch kind {
        case .boolean:
            let isTrue = text.count == 4 && memcmp(text.baseAddress!, "true", 4) == 0
            out.append(ascii: isTrue ? "true" : "false")
            return true
        case .integer:
            guard (1...18).contains(text.count), text[0] != UInt8(ascii: "0") || text.count == 1,
                  text.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }) else { return false }
            out.append(bytes: text)
            return true
        case .timestamp:
            out.append(UInt8(ascii: "\""))
            guard UTCTime.cliTimestamp(utc: text, to: &out) else { out.removeLast(); return false }
            out.append(UInt8(ascii: "\""))
            return true
        default:
            return false
        }
    }
}
