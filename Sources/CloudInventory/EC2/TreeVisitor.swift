@_spi(Bytes) import AWSCore

/// The walk's value visitor: `JSONValue`s, the reference the JSON and row visitors are held
/// to (`FastPathTests`, `RepeatedElementTests`), and DescribeRegions' answer. Not fast: it
/// builds every value it meets.
struct TreeVisitor: PageVisitor {
    /// The instances, each with its reservation's `Region`, `ReservationId` and `OwnerId`.
    var instances: [JSONValue] = []
    /// The value of a document walked whole (`walkDocument`).
    var document: JSONValue?
    private let region: String
    /// The open structures and lists, innermost last, each with its pending member's name.
    private var stack: [(key: String?, members: [JSONMember], items: [JSONValue], isList: Bool)] = []
    private var pending: [[JSONMember]] = []

    init(region: String) {
        self.region = region
    }

    private mutating func add(_ value: JSONValue) {
        guard let top = stack.indices.last else {
            document = value
            return
        }
        if stack[top].isList {
            stack[top].items.append(value)
        } else {
            stack[top].members.append(JSONMember(stack[top].key ?? "", value))
        }
    }

    mutating func openObject() { stack.append((nil, [], [], false)) }

    mutating func closeObject(role: RowPlan.Role) {
        if let object = stack.popLast() { add(.object(object.members)) }
    }

    mutating func key(shape: Int, member m: Int, entry: Int, first: Bool) {
        guard case let .structure(_, members) = EC2Model.shapes[shape], let top = stack.indices.last else { return }
        stack[top].key = members[m].name
    }

    mutating func openList() { stack.append((nil, [], [], true)) }
    func listItem(first: Bool) {}

    mutating func closeList() {
        if let list = stack.popLast() { add(.array(list.items)) }
    }

    mutating func boolean(_ value: Bool) { add(.bool(value)) }

    mutating func scalar(_ kind: EC2Model.Scalar, _ scanner: inout XMLScanner, element: Range<Int>, cell: RowPlan.Slot) throws(XMLError) {
        let text = try scanner.readText(startName: element)
        add(try ShapeDecoder.scalar(kind, text, at: scanner.position))
    }

    func beginInstance() {}

    mutating func restartInstance() { stack.removeAll() }

    mutating func endInstance(empty: Bool) {
        if let instance = stack.popLast() { pending.append(instance.members) }
    }

    mutating func endReservation(id: String?, owner: String?) {
        let extra = [
            JSONMember("Region", .string(region)),
            JSONMember("ReservationId", id.map(JSONValue.string) ?? .null),
            JSONMember("OwnerId", owner.map(JSONValue.string) ?? .null),
        ]
        for members in pending { instances.append(.object(members + extra)) }
        pending.removeAll()
    }
}
