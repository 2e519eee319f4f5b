@_spi(Bytes) import AWSCore

/// Where the renderer writes one instance: its JSON in the wire's field order (what is
/// printed, spooled and stored), and its text/csv cells (`row`). When a content hash is
/// wanted, it also notes where every object and member lies in `out` (`CanonicalRecords`),
/// so the canonical form can be copied out of `out` afterwards in one pass (`contentHash`).
struct RenderBuffer {
    var out: OutputBuffer
    let hashing: Bool
    private var records: CanonicalRecords
    /// The instance's text and csv cells, captured as they are written (`RowPlan`).
    var row = InstanceRow()
    /// The tag being rendered, until it closes, and whether a `Name` tag was seen before it.
    var tag: (key: String?, value: String?, sawName: Bool) = (nil, nil, false)

    init(capacity: Int, hashing: Bool) {
        self.hashing = hashing
        out = OutputBuffer(capacity: capacity)
        records = CanonicalRecords(reserving: hashing)
    }

    // Kept by the inline audit of issue 24: the measurement is in ShapeWalk.swift (`markSeen`).
    @inline(__always)
    mutating func append(_ byte: UInt8) {
        out.append(byte)
    }

    mutating func string(_ s: String) {
        JSONValue.writeString(s, to: &out)
    }

    mutating func openObject() {
        out.append(UInt8(ascii: "{"))
        if hashing { records.openObject(at: out.count - 1) }
    }

    /// Writes a member's key, already JSON-escaped with its colon (`MemberTable.jsonKey`).
    @inline(__always)
    mutating func key(_ jsonKey: Span<UInt8>, first: Bool, rank: UInt8) {
        if !first { out.append(UInt8(ascii: ",")) }
        if hashing { records.member(at: out.count, rank: rank) }
        out.append(jsonKey)
    }

    /// Member `entry`'s key and rank from the table: the comma and the key in one copy.
    @inline(__always)
    mutating func key(_ entry: Int, in table: MemberTable, first: Bool) {
        if hashing { records.member(at: first ? out.count : out.count &+ 1, rank: table.rank(entry)) }
        out.append(table.bytes.span.extracting(table.jsonKey(entry, comma: !first)))
    }

    mutating func key(_ jsonKey: [UInt8], first: Bool, rank: UInt8) {
        key(jsonKey.span, first: first, rank: rank)
    }

    mutating func closeObject() {
        out.append(UInt8(ascii: "}"))
        if hashing { records.closeObject(at: out.count - 1) }
    }

    /// The content hash of the canonical form (`InventoryStore.contentHash`). `scratch` is
    /// where the canonical bytes are put together; the caller keeps it to reuse its storage.
    func contentHash(scratch: OutputBuffer) -> String {
        let complete = out.withBytes { records.canonical(of: $0, into: scratch) }
        guard complete else {
            // The records are taken as `out` is written, so they always agree with it; were
            // they ever not to, the tree's hash is the definition (`InventoryStore.contentHash`),
            // and the renderer's own JSON always parses.
            guard let tree = try? JSONValue.parse(out.bytes) else { preconditionFailure("the renderer wrote JSON its grammar refuses") }
            return InventoryStore.contentHash(tree)
        }
        return InventoryStore.contentHash(ofCanonical: scratch)
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
