@_spi(Bytes) import AWSCore

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
        if decoder.rowsOnly {
            var rows = RowVisitor(region: region, keepsRows: decoder.keepsRows)
            rows.page.nextToken = try decoder.walkPage(into: &rows)
            return rows.page
        }
        var render = RenderVisitor(region: region, keepsRows: decoder.keepsRows, hashing: contents.contains(.hashes))
        render.page.json = ByteBufferPool.shared.take(minimumCapacity: body.count)
        render.page.nextToken = try decoder.walkPage(into: &render)
        return render.page
    }

    /// The page's own structure, read by `v`: `DescribeInstancesResult`, its reservations,
    /// their instances (`walkInstance`). Returns the next token (none when empty).
    ///
    /// Repeated elements at this level are not read as botocore reads them: a repeated
    /// `reservationSet` or `instancesSet` is joined (botocore would turn it into empty
    /// reservations or instances, and the poll would look complete while dropping every
    /// instance in it: `UntrustedShapeTests`), and a repeated token, reservation id or owner
    /// is an error (botocore keeps XML elements there, which no JSON holds).
    mutating func walkPage<V: PageVisitor>(into v: inout V) throws(XMLError) -> String? {
        let (rootMembers, _, _, _) = Self.instancesPath
        follows = [UInt8](repeating: .max, count: shapes.count * 129)
        let root = try scanner.root()
        var sawReservations = false
        var token: String?
        while let child = try scanner.nextChild(of: root) {
            switch member(rootMembers, named: child).map({ rootMembers[$0].name }) {
            case "NextToken":
                guard token == nil else { throw XMLError.malformed("repeated <nextToken>", at: scanner.position) }
                token = try scanner.readText(startName: child)
            case "Reservations":
                sawReservations = true
                while let item = try nextItem(of: child) {
                    try walkReservation(item, into: &v)
                }
            default:
                try scanner.skipElement(startName: child)
            }
        }
        guard sawReservations else { throw EC2Client.missingReservations(at: scanner.position) }
        return token?.isEmpty == false ? token : nil
    }

    /// One reservation: its instances go to `v` first and are closed once the reservation's
    /// id and owner are known, wherever they stand in the XML.
    private mutating func walkReservation<V: PageVisitor>(_ element: Range<Int>, into v: inout V) throws(XMLError) {
        let (_, members, instancesMember, instanceShape) = Self.instancesPath
        var reservationId: String?
        var ownerId: String?
        while let child = try scanner.nextChild(of: element) {
            guard let m = member(members, named: child) else {
                try scanner.skipElement(startName: child)
                continue
            }
            if m == instancesMember {
                while let item = try nextItem(of: child) {
                    try walkInstance(item, shape: instanceShape, into: &v)
                }
            } else if members[m].name == "ReservationId" {
                guard reservationId == nil else { throw XMLError.malformed("repeated <reservationId>", at: scanner.position) }
                reservationId = try scanner.readText(startName: child)
            } else if members[m].name == "OwnerId" {
                guard ownerId == nil else { throw XMLError.malformed("repeated <ownerId>", at: scanner.position) }
                ownerId = try scanner.readText(startName: child)
            } else {
                try scanner.skipElement(startName: child)
            }
        }
        v.endReservation(id: reservationId, owner: ownerId)
    }

    /// The booleans, plain integers and UTC timestamps (nearly all non-string scalars) straight
    /// from the body, as `scalar` would write them: `true` and anything else false; digits
    /// without a leading zero, short enough for Int64, as they are; `cliTimestamp`'s form.
    /// Returns false, with nothing written, to leave the rest to `scalar`.
    static func writeScalar(_ kind: EC2Model.Scalar, _ text: Span<UInt8>, to out: inout OutputBuffer) -> Bool {
        switch kind {
        case .boolean:
            let isTrue = text.count == 4 && ByteLiteral.jsonTrue.matches(text, at: 0)
            out.append(isTrue ? ByteLiteral.jsonTrue : .jsonFalse)
            return true
        case .integer:
            guard (1...18).contains(text.count), text[0] != UInt8(ascii: "0") || text.count == 1,
                  allDigits(text) else { return false }
            out.append(text)
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

    private static func allDigits(_ text: Span<UInt8>) -> Bool {
        for i in text.indices where text[i] &- UInt8(ascii: "0") >= 10 { return false }
        return true
    }
}
