@_spi(Bytes) import AWSCore

/// What the one walk of EC2's XML (`ShapeDecoder.walkObject`) tells the reader of a page:
/// the JSON writer (`RenderVisitor`), the row reader (`RowVisitor`) and the value tree
/// (`TreeVisitor`, the tests' reference). The walk is generic over its visitor, so each gets
/// its own specialised copy and the JSON path pays no dynamic call.
///
/// The walk decides everything about the input (which members, in what order, how a repeated
/// element is read); a visitor only decides what to make of it.
protocol ShapeVisitor {
    mutating func openObject()
    /// The end of a structure; a `.tag` structure is one of the instance's tags (`RowPlan`).
    mutating func closeObject(role: RowPlan.Role)
    /// Member `m` of structure `shape`, `entry` in `MemberTable`.
    mutating func key(shape: Int, member m: Int, entry: Int, first: Bool)
    mutating func openList()
    mutating func listItem(first: Bool)
    mutating func closeList()
    /// The scalar `element`, whose start tag was just read, through its end tag; `cell` says
    /// which of the row's cells it is (a string), if any.
    mutating func scalar(_ kind: EC2Model.Scalar, _ scanner: inout XMLScanner, element: Range<Int>, cell: RowPlan.Slot) throws(XMLError)
    /// A boolean the walk decided itself: botocore reads a repeated boolean as false.
    mutating func boolean(_ value: Bool)
}

/// The page-level part: instances come one at a time, each closed with its reservation's
/// fields once the reservation is read to its end.
protocol PageVisitor: ShapeVisitor {
    mutating func beginInstance()
    /// The instance's members are all visited; its object stays open for the reservation's fields.
    mutating func endInstance(empty: Bool)
    /// Forget the instance begun last: the walk reads it again in its careful mode.
    mutating func restartInstance()
    mutating func endReservation(id: String?, owner: String?)
}

/// The walk itself. Recursion follows the model's shapes, never the input: a structure or
/// list recurses only into a member shape, the shape graph is acyclic (at most 11 levels deep;
/// `ParserTotalityTests` holds that), and elements the model does not know are skipped by
/// `XMLScanner.skipElement`, which counts depth in a loop.
///
/// **A repeated element** (a member met twice in one structure) is read as botocore's
/// `EC2QueryParser` reads it (`RepeatedElementTests` holds the walk to botocore itself):
/// - a structure: the first is kept, the later ones skipped;
/// - a list: one empty object per occurrence (botocore parses each whole list element as one
///   item; every list of the model has structure items, none with a member named `item`);
/// - a boolean: `false` (botocore compares a list of elements with `"true"`);
/// - a string, integer, double or timestamp: an error (botocore raises, or keeps XML elements
///   no JSON can hold), so the page fails rather than print something botocore does not.
///
/// The fast mode does not look ahead: it notes which members it met and, at the first repeat,
/// throws `XMLError.repeated`; the caller rewinds to the instance and walks it again in the
/// careful mode, which counts each structure's children before reading them.
extension ShapeDecoder {
    /// Walks structure `shape` from its start tag `element` to its end tag. With `open`, the
    /// closing brace is left to the caller. Returns whether the structure had no member.
    @discardableResult
    mutating func walkObject<V: ShapeVisitor>(shape: Int, element: Range<Int>, role: RowPlan.Role, careful: Bool,
                                              open: Bool = false, into v: inout V) throws(XMLError) -> Bool {
        guard case let .structure(_, members) = shapes[shape] else { preconditionFailure("not a structure") }
        let base = memberTable.first(shape)
        var counts: [Int]? = careful ? try countMembers(members, of: element) : nil
        var first = true
        var seen: (UInt64, UInt64) = (0, 0)
        var previous = -1
        v.openObject()
        while let child = try scanner.nextChild(of: element) {
            guard let m = member(members, named: child, shape: shape, after: previous) else {
                try scanner.skipElement(startName: child)
                continue
            }
            previous = m
            if let times = counts?[m] {
                if times < 0 {  // a repeat, already read at its first occurrence
                    try scanner.skipElement(startName: child)
                    continue
                }
                if times > 1 {
                    counts?[m] = -1
                    if try readRepeated(members[m], times: times, element: child, entry: base &+ m, shape: shape, m: m, first: first, into: &v) {
                        first = false
                        continue
                    }
                }
            } else {
                try markSeen(m, in: &seen, members)
            }
            v.key(shape: shape, member: m, entry: base &+ m, first: first)
            first = false
            // Most members are scalars: read here, one call fewer than through `walkValue`.
            let memberShape = members[m].shape
            if case let .scalar(kind) = shapes[memberShape] {
                try v.scalar(kind, &scanner, element: child, cell: rowPlan.slot(role, m))
            } else {
                try walkValue(shape: memberShape, element: child, role: rowPlan.role(role, m), cell: .none, careful: careful, into: &v)
            }
        }
        if !open { v.closeObject(role: role) }
        return first
    }

    /// Any member's value: a structure, a list of items, or a scalar (`cell` for a row's string).
    mutating func walkValue<V: ShapeVisitor>(shape: Int, element: Range<Int>, role: RowPlan.Role, cell: RowPlan.Slot,
                                             careful: Bool, into v: inout V) throws(XMLError) {
        switch shapes[shape] {
        case .structure:
            try walkObject(shape: shape, element: element, role: role, careful: careful, into: &v)
        case let .list(_, _, memberShape):
            v.openList()
            var first = true
            while let item = try nextItem(of: element) {
                v.listItem(first: first)
                first = false
                try walkValue(shape: memberShape, element: item, role: RowPlan.itemRole(role), cell: .none, careful: careful, into: &v)
            }
            v.closeList()
        case let .scalar(kind):
            try v.scalar(kind, &scanner, element: element, cell: cell)
        }
    }

    /// Notes member `m` as met; a second meeting (or a member past what two words hold)
    /// sends the caller to the careful mode.
    // Gate, 2026-12-08: without the EC2 renderer's fifteen @inline(__always) (RenderVisitor, RenderBuffer, MemberTable, ShapeWalk, ShapeDecoder, InstanceRow) json +11.1%, text +5.2%, csv +5.1%, db +3.5-4.7%; which of them carry it is not yet narrowed.
    @inline(__always)
    private func markSeen(_ m: Int, in seen: inout (UInt64, UInt64), _ members: [EC2Model.Member]) throws(XMLError) {
        let bit: UInt64 = 1 << UInt64(m & 63)
        if m >= 128 || (m < 64 ? seen.0 & bit : seen.1 & bit) != 0 { throw XMLError.repeated(members[m].xml, at: scanner.position) }
        if m < 64 { seen.0 |= bit } else { seen.1 |= bit }
    }

    /// How often each member occurs among `element`'s children; the scanner is put back.
    private mutating func countMembers(_ members: [EC2Model.Member], of element: Range<Int>) throws(XMLError) -> [Int] {
        let start = scanner.mark
        var counts = [Int](repeating: 0, count: members.count)
        while let child = try scanner.nextChild(of: element) {
            if let m = member(members, named: child) { counts[m] += 1 }
            try scanner.skipElement(startName: child)
        }
        scanner.reset(to: start)
        return counts
    }

    /// The first occurrence of a member that occurs `times` times, read as botocore reads it
    /// (see above). Returns false for a structure, which the caller then walks as usual.
    private mutating func readRepeated<V: ShapeVisitor>(_ member: EC2Model.Member, times: Int, element: Range<Int>, entry: Int,
                                                        shape: Int, m: Int, first: Bool, into v: inout V) throws(XMLError) -> Bool {
        switch shapes[member.shape] {
        case .structure:
            return false
        case .list:
            v.key(shape: shape, member: m, entry: entry, first: first)
            v.openList()
            for i in 0..<times {
                v.listItem(first: i == 0)
                v.openObject()
                v.closeObject(role: .none)
            }
            v.closeList()
        case .scalar(.boolean):
            v.key(shape: shape, member: m, entry: entry, first: first)
            v.boolean(false)
        case .scalar:
            throw XMLError.malformed("<\(member.xml)> repeated: botocore reads no value from it", at: scanner.position)
        }
        try scanner.skipElement(startName: element)
        return true
    }

    /// One instance (`item` of an `instancesSet`): the fast walk, or at a repeated element the
    /// careful one from the instance's start again.
    mutating func walkInstance<V: PageVisitor>(_ item: Range<Int>, shape: Int, into v: inout V) throws(XMLError) {
        let start = scanner.mark
        v.beginInstance()
        let empty: Bool
        do {
            empty = try walkObject(shape: shape, element: item, role: .instance, careful: false, open: true, into: &v)
        } catch {
            guard error.isRepeat else { throw error }
            scanner.reset(to: start)
            v.restartInstance()
            empty = try walkObject(shape: shape, element: item, role: .instance, careful: true, open: true, into: &v)
        }
        v.endInstance(empty: empty)
    }

    /// A whole document read as structure `shape` by `v` (DescribeRegions).
    mutating func walkDocument<V: ShapeVisitor>(as shape: Int, root: Range<Int>, into v: inout V, restart: (inout V) -> Void) throws(XMLError) {
        let start = scanner.mark
        do {
            try walkObject(shape: shape, element: root, role: .none, careful: false, into: &v)
        } catch {
            guard error.isRepeat else { throw error }
            scanner.reset(to: start)
            restart(&v)
            try walkObject(shape: shape, element: root, role: .none, careful: true, into: &v)
        }
    }
}
