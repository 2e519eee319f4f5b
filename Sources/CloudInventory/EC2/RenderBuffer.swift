import Crypto

/// Where the renderer writes one instance: its JSON in the wire's field order (what is
/// printed, spooled and stored), and its text/csv cells (`row`). When a content hash is
/// wanted, it also notes where every object and member lies in `out`, so the canonical form
/// can be copied out of `out` afterwards in one pass (`contentHash`).
///
/// The canonical form sorts every object's members by name (`JSONValue.canonical` is the
/// same form built from a value tree), so EC2 sending the same instance with its elements in
/// another order hashes the same and costs no write. It is a permutation of `out`'s members:
/// nothing is written twice while rendering, and an object whose members (and theirs) came
/// in canonical order is copied whole.
struct RenderBuffer {
    var out: OutputBytes
    let hashing: Bool
    /// Every object opened so far, in the order they opened (so an object's descendants
    /// follow it, up to `afterSubtree`).
    private var objects: [Object] = []
    /// The members of closed objects: each object's run, in canonical order.
    private var members: [Member] = []
    /// The objects still open, innermost last.
    private var openObjects: [Int] = []
    /// The members of the open objects as they were written: where the key starts in `out`,
    /// its rank in its object's canonical order (`CanonicalOrder`), and the first object
    /// opened after it.
    private var openMembers: [(start: Int, rank: UInt8, firstObject: Int)] = []
    /// The instance's text and csv cells, captured as they are written (`RowPlan`).
    var row = InstanceRow()
    /// The tag being rendered, until it closes, and whether a `Name` tag was seen before it.
    var tag: (key: String?, value: String?, sawName: Bool) = (nil, nil, false)

    private struct Object {
        /// `{` and `}` in `out`.
        var start: Int, end = 0
        var firstMember = 0, memberCount = 0
        /// The first object after this one's descendants.
        var afterSubtree = 0
        /// Whether this object and every object in it are already in canonical order.
        var inOrder = true
        /// Where its members begin in `openMembers` while it is open.
        let firstOpenMember: Int
    }

    /// One member, from its key to the end of its value.
    private struct Member {
        var start: Int, end: Int, firstObject: Int
    }

    init(capacity: Int, hashing: Bool) {
        self.hashing = hashing
        out = OutputBytes(capacity: capacity)
        if hashing {
            // An EC2 instance: a few dozen objects, about a hundred members, a few levels.
            objects.reserveCapacity(32)
            members.reserveCapacity(128)
            openMembers.reserveCapacity(64)
        }
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        out.append(byte)
    }

    mutating func string(_ s: String) {
        JSONValue.writeString(s, to: &out)
    }

    mutating func openObject() {
        out.append(UInt8(ascii: "{"))
        guard hashing else { return }
        openObjects.append(objects.count)
        objects.append(Object(start: out.count - 1, firstOpenMember: openMembers.count))
    }

    /// Writes a member's key, already JSON-escaped with its colon (`EC2Model.Member.jsonKey`).
    @inline(__always)
    mutating func key(_ jsonKey: [UInt8], first: Bool, rank: UInt8) {
        if !first { out.append(UInt8(ascii: ",")) }
        if hashing { openMembers.append((out.count, rank, objects.count)) }
        out.append(jsonKey)
    }

    mutating func closeObject() {
        out.append(UInt8(ascii: "}"))
        guard hashing, let o = openObjects.popLast() else { return }
        var object = objects[o]
        let end = out.count - 1
        let first = object.firstOpenMember, count = openMembers.count - first
        var sorted = true, previous = -1, maxRank = 0
        for i in first..<(first + count) {
            let rank = Int(openMembers[i].rank)
            if rank <= previous { sorted = false }
            previous = rank
            maxRank = max(maxRank, rank)
        }
        object.end = end
        object.firstMember = members.count
        object.memberCount = count
        object.afterSubtree = objects.count
        @inline(__always) func member(_ i: Int) -> Member {
            Member(start: openMembers[i].start, end: i + 1 < first + count ? openMembers[i + 1].start - 1 : end,
                   firstObject: openMembers[i].firstObject)
        }
        if sorted {
            for i in first..<(first + count) { members.append(member(i)) }
        } else {
            object.inOrder = false
            // Ranks are below 256 and distinct (a member is rendered once): placed by rank,
            // then read in order. A shared rank would be a model change: sorted instead.
            let placed = withUnsafeTemporaryAllocation(of: Int32.self, capacity: maxRank + 1) { byRank in
                byRank.initialize(repeating: -1)
                for i in first..<(first + count) {
                    guard byRank[Int(openMembers[i].rank)] < 0 else { return false }
                    byRank[Int(openMembers[i].rank)] = Int32(i)
                }
                for i in byRank where i >= 0 { members.append(member(Int(i))) }
                return true
            }
            if !placed {
                for i in (first..<(first + count)).sorted(by: { openMembers[$0].rank < openMembers[$1].rank }) { members.append(member(i)) }
            }
        }
        objects[o] = object
        openMembers.removeLast(count)
        if !object.inOrder, let parent = openObjects.last { objects[parent].inOrder = false }
    }

    /// The content hash of the canonical form (16 bytes of SHA-256, hex). `scratch` is where
    /// the canonical bytes are put together; the caller keeps it to reuse its storage.
    func contentHash(scratch: inout [UInt8]) -> String {
        // The canonical form is a permutation of `out`'s members: the same length exactly.
        scratch.removeAll(keepingCapacity: true)
        scratch.reserveCapacity(out.count)
        var complete = false
        out.withUnsafeBufferPointer { bytes in
            scratch.append(contentsOf: bytes)
            guard !objects.isEmpty else {
                complete = true
                return
            }
            scratch.withUnsafeMutableBufferPointer { to in
                guard let base = to.baseAddress else { return }
                var cursor = 0
                complete = canonical(object: 0, from: bytes, to: base, cursor: &cursor) && cursor == bytes.count
            }
        }
        // Never reached while the records and `out` agree; the tree's hash is the definition.
        guard complete else {
            let bytes = out.bytes
            return (try? JSONValue.parse(bytes)).map(InventoryStore.contentHash) ?? Hex.encode(SHA256.hash(data: bytes).prefix(16))
        }
        return Hex.encode(SHA256.hash(data: scratch).prefix(16))
    }

    /// Copies object `o` in canonical order to `to` at `cursor`, never past `from`'s length
    /// (false if it would). Recursion follows the objects' nesting, which follows the model's
    /// shapes (at most 11 levels; see `ShapeDecoder`), never the input.
    private func canonical(object o: Int, from bytes: UnsafeBufferPointer<UInt8>, to: UnsafeMutablePointer<UInt8>,
                           cursor: inout Int) -> Bool {
        @inline(__always) func copy(_ from: Int, _ upTo: Int) -> Bool {
            guard from >= 0, from <= upTo, upTo <= bytes.count, cursor + (upTo - from) <= bytes.count else { return false }
            (to + cursor).update(from: bytes.baseAddress! + from, count: upTo - from)
            cursor += upTo - from
            return true
        }
        @inline(__always) func put(_ byte: UInt8) -> Bool {
            guard cursor < bytes.count else { return false }
            to[cursor] = byte
            cursor += 1
            return true
        }
        let object = objects[o]
        guard !object.inOrder else { return copy(object.start, object.end + 1) }
        guard put(UInt8(ascii: "{")) else { return false }
        for k in 0..<object.memberCount {
            if k > 0, !put(UInt8(ascii: ",")) { return false }
            let member = members[object.firstMember + k]
            // The member's bytes, with each object in it put in order in its place.
            var p = member.start
            var j = member.firstObject
            while j < object.afterSubtree, objects[j].start < member.end {
                guard copy(p, objects[j].start), canonical(object: j, from: bytes, to: to, cursor: &cursor) else { return false }
                p = objects[j].end + 1
                j = objects[j].afterSubtree
            }
            guard copy(p, member.end) else { return false }
        }
        return put(UInt8(ascii: "}"))
    }
}

/// Each structure's member names in canonical order (bytes, a prefix first: the order
/// `JSONValue.canonical` sorts keys in), as a rank per member index, so closing an object
/// in `RenderBuffer` compares small integers instead of keys. The instance's structure also
/// ranks the three fields the renderer adds after its members (`extras`).
struct CanonicalOrder: Sendable {
    static let extras = ["Region", "ReservationId", "OwnerId"]
    static let extraKeys = extras.map(JSONValue.jsonKey)
    /// Per shape: each member's rank (empty for lists and scalars).
    let ranks: [[UInt8]]
    /// The ranks of `extras` in the instance's structure.
    let extraRanks: [UInt8]

    init(shapes: [EC2Model.Shape], instanceShape: Int) {
        func rank(_ names: [String]) -> [UInt8] {
            let sorted = names.indices.sorted { names[$0].utf8.lexicographicallyPrecedes(names[$1].utf8) }
            var ranks = [UInt8](repeating: 0, count: names.count)
            for (place, index) in sorted.enumerated() { ranks[index] = UInt8(truncatingIfNeeded: place) }
            return ranks
        }
        ranks = shapes.enumerated().map { index, shape in
            guard case let .structure(_, members) = shape else { return [] }
            return rank(members.map(\.name) + (index == instanceShape ? Self.extras : [])).prefix(members.count).map { $0 }
        }
        guard case let .structure(_, members) = shapes[instanceShape] else { preconditionFailure("not a structure") }
        extraRanks = Array(rank(members.map(\.name) + Self.extras).suffix(Self.extras.count))
    }
}
