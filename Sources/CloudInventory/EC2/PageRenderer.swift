/// A page of instances already rendered as JSON: the fast path for `--format json` with no
/// database, where nothing needs the documents as values.
public struct RenderedPage: Sendable {
    /// The instance objects, comma-separated, without the enclosing brackets.
    public var json: [UInt8]
    public var count: Int
    /// Instances by `State.Name`, for the run summary and metrics.
    public var states: [String: Int]
    public var nextToken: String?
    /// The `InstanceId` of each rendered instance, in order (pagination keeps each id once).
    public var instanceIds: [String] = []

    public init(json: [UInt8], count: Int, states: [String: Int], nextToken: String?, instanceIds: [String] = []) {
        self.json = json
        self.count = count
        self.states = states
        self.nextToken = nextToken
        self.instanceIds = instanceIds
    }

    /// The same instances as values, for sinks that need them.
    public func values() throws -> [JSONValue] {
        guard !json.isEmpty else { return [] }
        return try JSONValue.parse([UInt8(ascii: "[")] + json + [UInt8(ascii: "]")]).arrayValue ?? []
    }
}

/// Writes DescribeInstances XML straight to JSON by the same shape table as `ShapeDecoder`,
/// without building a value tree: the same field names, nesting, types and order, at a
/// fraction of the allocations. `DecodingTests` holds the two paths to the same output.
extension ShapeDecoder {
    static func renderInstancesPage(_ body: [UInt8], region: String) throws(XMLError) -> RenderedPage {
        var decoder = ShapeDecoder(body)
        var page = RenderedPage(json: [], count: 0, states: [:], nextToken: nil)
        page.json.reserveCapacity(body.count)
        guard case let .structure(_, rootMembers) = decoder.shapes[EC2Model.describeInstancesResult],
              let reservationsMember = rootMembers.firstIndex(where: { $0.name == "Reservations" }),
              case let .list(_, _, reservationShape) = decoder.shapes[rootMembers[reservationsMember].shape],
              case let .structure(_, reservationMembers) = decoder.shapes[reservationShape],
              let instancesMember = reservationMembers.firstIndex(where: { $0.name == "Instances" }),
              case let .list(_, _, instanceShape) = decoder.shapes[reservationMembers[instancesMember].shape]
        else { preconditionFailure("EC2 model lacks DescribeInstancesResult.Reservations[].Instances[]") }

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
                                                  instanceShape: instanceShape, region: region, into: &page)
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
                                            instanceShape: Int, region: String, into page: inout RenderedPage) throws(XMLError) {
        var reservationId: String?
        var ownerId: String?
        var pending: [[UInt8]] = []
        while let child = try scanner.nextChild(of: element) {
            guard let m = member(members, named: child) else {
                try scanner.skipElement(startName: child)
                continue
            }
            if m == instancesMember {
                while let item = try nextItem(of: child) {
                    var buffer: [UInt8] = []
                    buffer.reserveCapacity(4096)
                    let (state, id) = try renderObject(shape: instanceShape, element: item, into: &buffer, open: true)
                    page.states[state ?? "unknown", default: 0] += 1
                    if let id { page.instanceIds.append(id) }
                    pending.append(buffer)
                }
            } else if members[m].name == "ReservationId" {
                reservationId = try scanner.readText(startName: child)
            } else if members[m].name == "OwnerId" {
                ownerId = try scanner.readText(startName: child)
            } else {
                try scanner.skipElement(startName: child)
            }
        }
        for var buffer in pending {
            if buffer.count > 1 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(contentsOf: "\"Region\":".utf8)
            JSONValue.writeString(region, to: &buffer)
            buffer.append(contentsOf: ",\"ReservationId\":".utf8)
            if let reservationId { JSONValue.writeString(reservationId, to: &buffer) } else { buffer.append(contentsOf: "null".utf8) }
            buffer.append(contentsOf: ",\"OwnerId\":".utf8)
            if let ownerId { JSONValue.writeString(ownerId, to: &buffer) } else { buffer.append(contentsOf: "null".utf8) }
            buffer.append(UInt8(ascii: "}"))
            if page.count > 0 { page.json.append(UInt8(ascii: ",")) }
            page.json.append(contentsOf: buffer)
            page.count += 1
        }
    }

    /// Renders a structure. With `open`, the closing brace is left off for the caller to add
    /// fields. Returns `State.Name` and `InstanceId` when the structure has them (instances do).
    @discardableResult
    private mutating func renderObject(shape: Int, element: Range<Int>, into out: inout [UInt8],
                                       open: Bool = false) throws(XMLError) -> (state: String?, id: String?) {
        guard case let .structure(_, members) = shapes[shape] else { preconditionFailure("not a structure") }
        var state: String?
        var id: String?
        var first = true
        var seen: (UInt64, UInt64) = (0, 0)
        out.append(UInt8(ascii: "{"))
        while let child = try scanner.nextChild(of: element) {
            guard let m = member(members, named: child) else {
                try scanner.skipElement(startName: child)
                continue
            }
            // A repeated element would make a duplicate key; take the slow, exact path for it.
            let bit: UInt64 = 1 << UInt64(m & 63)
            if m >= 128 || (m < 64 ? seen.0 & bit : seen.1 & bit) != 0 { throw XMLError.malformed("repeated <\(members[m].xml)>", at: scanner.position) }
            if m < 64 { seen.0 |= bit } else { seen.1 |= bit }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONValue.writeString(members[m].name, to: &out)
            out.append(UInt8(ascii: ":"))
            if members[m].name == "State", case .structure = shapes[members[m].shape] {
                let value = try decode(shape: members[m].shape, element: child)
                state = value["Name"]?.stringValue
                value.write(to: &out)
            } else if members[m].name == "InstanceId", case .scalar(.string) = shapes[members[m].shape] {
                let text = try scanner.readText(startName: child)
                JSONValue.writeString(text, to: &out)
                id = text
            } else {
                try render(shape: members[m].shape, element: child, into: &out)
            }
        }
        if !open { out.append(UInt8(ascii: "}")) }
        return (state, id)
    }

    private mutating func render(shape: Int, element: Range<Int>, into out: inout [UInt8]) throws(XMLError) {
        switch shapes[shape] {
        case .structure:
            try renderObject(shape: shape, element: element, into: &out)
        case let .list(_, _, memberShape):
            out.append(UInt8(ascii: "["))
            var first = true
            while let item = try nextItem(of: element) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                try render(shape: memberShape, element: item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .scalar(kind):
            let text = try scanner.readText(startName: element)
            if kind == .string {
                JSONValue.writeString(text, to: &out)
            } else {
                try Self.scalar(kind, text, at: scanner.position).write(to: &out)
            }
        }
    }
}
