import AWSCore

/// The cells of one instance that `--format text` and `csv` show after the account: region,
/// id, state, type, availability zone, private and public IP, and the `Name` tag.
///
/// The renderer fills it while it writes the instance's JSON (`RenderBuffer.row`, by
/// `RowPlan`), so text and csv need no value tree; `init(_:)` is the same row from a value,
/// the reference the renderer is held to (`FastPathTests`).
public struct InstanceRow: Sendable, Equatable {
    public var region: String?
    public var id: String?
    public var state: String?
    public var type: String?
    public var zone: String?
    public var privateIp: String?
    public var publicIp: String?
    /// The value of the first tag whose key is `Name`.
    public var name: String?

    public init() {}

    /// The row of an instance document (the poll's, or a stored one).
    public init(_ instance: JSONValue) {
        region = instance["Region"]?.stringValue
        id = instance["InstanceId"]?.stringValue
        state = instance["State"]?["Name"]?.stringValue
        type = instance["InstanceType"]?.stringValue
        zone = instance["Placement"]?["AvailabilityZone"]?.stringValue
        privateIp = instance["PrivateIpAddress"]?.stringValue
        publicIp = instance["PublicIpAddress"]?.stringValue
        name = instance["Tags"]?.arrayValue?.first { $0["Key"]?.stringValue == "Name" }?["Value"]?.stringValue
    }

    /// In column order; an absent value is "".
    public var cells: [String] {
        [region ?? "", id ?? "", state ?? "", type ?? "", zone ?? "", privateIp ?? "", publicIp ?? "", name ?? ""]
    }
}

/// Where `InstanceRow`'s cells are in the shape table, by the role of the structure being
/// rendered (the instance, its `Placement`, its `State`, one of its `Tags`) and the member's
/// index in it. Roles follow the path from the instance, never a shape alone: a `Tag` or
/// `Placement` shape met elsewhere fills nothing.
struct RowPlan: Sendable {
    enum Role: UInt8 { case none, instance, placement, state, tags, tag }
    enum Slot: UInt8, CaseIterable { case none, id, state, type, zone, privateIp, publicIp, tagKey, tagValue }

    /// Members per role in the flat tables; a member past it fills no cell (no structure of the model has that many).
    static let stride = 128
    private var slots = [Slot](repeating: .none, count: 6 * RowPlan.stride)
    private var roles = [Role](repeating: .none, count: 6 * RowPlan.stride)

    // Kept by the inline audit of issue 24: the measurement is in ShapeWalk.swift (`markSeen`).
    @inline(__always)
    func slot(_ role: Role, _ member: Int) -> Slot {
        role == .none || member >= Self.stride ? .none : slots[Int(role.rawValue) &* Self.stride &+ member]
    }

    @inline(__always)
    func role(_ role: Role, _ member: Int) -> Role {
        role == .none || member >= Self.stride ? .none : roles[Int(role.rawValue) &* Self.stride &+ member]
    }

    /// The role of a list's items, given the list's role.
    static func itemRole(_ role: Role) -> Role { role == .tags ? .tag : .none }

    /// The plan for `instanceShape` (`Reservations[].Instances[]` of the model), capturing
    /// only `cells` (a plan without the zone or the tags leaves those structures unmarked).
    init(instanceShape: Int, shapes: [EC2Model.Shape], cells: Set<Slot> = Set(Slot.allCases)) {
        let instance = structure(instanceShape, shapes)
        let instanceCells: [String: Slot] = ["InstanceId": .id, "InstanceType": .type, "PrivateIpAddress": .privateIp, "PublicIpAddress": .publicIp]
        fill(.instance, instance, instanceCells.filter { cells.contains($0.value) }, shapes)
        if cells.contains(.zone), let m = Self.index(instance, "Placement", shapes) {
            roles[Self.at(.instance, m)] = .placement
            fill(.placement, structure(instance[m].shape, shapes), ["AvailabilityZone": .zone], shapes)
        }
        if cells.contains(.state), let m = Self.index(instance, "State", shapes) {
            roles[Self.at(.instance, m)] = .state
            fill(.state, structure(instance[m].shape, shapes), ["Name": .state], shapes)
        }
        if cells.contains(.tagKey), let m = instance.firstIndex(where: { $0.name == "Tags" }), m < Self.stride,
           case let .list(_, _, tagShape) = shapes[instance[m].shape], case .structure = shapes[tagShape] {
            roles[Self.at(.instance, m)] = .tags
            fill(.tag, structure(tagShape, shapes), ["Key": .tagKey, "Value": .tagValue], shapes)
        }
    }

    private static func at(_ role: Role, _ member: Int) -> Int { Int(role.rawValue) * stride + member }

    /// String members named in `names` fill their slot.
    private mutating func fill(_ role: Role, _ members: [EC2Model.Member], _ names: [String: Slot], _ shapes: [EC2Model.Shape]) {
        for (m, member) in members.enumerated() where m < Self.stride {
            guard let slot = names[member.name], case .scalar(.string) = shapes[member.shape] else { continue }
            slots[Self.at(role, m)] = slot
        }
    }

    private static func index(_ members: [EC2Model.Member], _ name: String, _ shapes: [EC2Model.Shape]) -> Int? {
        guard let m = members.firstIndex(where: { $0.name == name }), m < stride, case .structure = shapes[members[m].shape] else { return nil }
        return m
    }

    private func structure(_ shape: Int, _ shapes: [EC2Model.Shape]) -> [EC2Model.Member] {
        guard case let .structure(_, members) = shapes[shape] else { return [] }
        return members
    }
}

extension RenderBuffer {
    /// Keeps a captured cell. A tag's key and value wait for the tag to close (`closeTag`).
    mutating func fill(_ slot: RowPlan.Slot, _ text: String) {
        switch slot {
        case .none: break
        case .id: row.id = text
        case .state: row.state = text
        case .type: row.type = text
        case .zone: row.zone = text
        case .privateIp: row.privateIp = text
        case .publicIp: row.publicIp = text
        case .tagKey: tag.key = text
        case .tagValue: tag.value = text
        }
    }

    /// The first tag keyed `Name` gives the row its name.
    mutating func closeTag() {
        if !tag.sawName, tag.key == "Name" {
            row.name = tag.value
            tag.sawName = true
        }
        tag.key = nil
        tag.value = nil
    }
}
