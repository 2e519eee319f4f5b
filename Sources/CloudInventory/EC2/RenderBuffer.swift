import Crypto

/// Where the renderer writes one instance: its JSON in the wire's field order (what is
/// printed, spooled and stored), and, when a content hash is wanted, the same JSON in
/// canonical form beside it; and its text/csv cells (`row`).
///
/// The canonical form sorts every object's members by name (`JSONValue.canonical` is the
/// same form built from a value tree), so EC2 sending the same instance with its elements in
/// another order hashes the same and costs no write. Each object is put in order as it
/// closes, inside its own bytes: its members were closed (and ordered) before it.
struct RenderBuffer {
    var out: [UInt8] = []
    private(set) var canon: [UInt8] = []
    let hashing: Bool
    /// Per open object: where it starts in `canon`, and its first entry in `segments`.
    private var frames: [(start: Int, firstSegment: Int)] = []
    /// Where each member of the open objects starts in `canon` (at its key), and its key's
    /// place in the canonical order of its object (`CanonicalOrder`).
    private var segments: [Int] = []
    private var ranks: [UInt8] = []
    private var scratch: [UInt8] = []
    /// The instance's text and csv cells, captured as they are written (`RowPlan`).
    var row = InstanceRow()
    /// The tag being rendered, until it closes, and whether a `Name` tag was seen before it.
    var tag: (key: String?, value: String?, sawName: Bool) = (nil, nil, false)

    init(capacity: Int, hashing: Bool) {
        self.hashing = hashing
        out.reserveCapacity(capacity)
        if hashing { canon.reserveCapacity(capacity) }
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        out.append(byte)
        if hashing { canon.append(byte) }
    }

    /// Bytes written to `out` since `mark`, mirrored into `canon` (leaf values).
    @inline(__always)
    mutating func mirror(from mark: Int) {
        guard hashing else { return }
        out.withUnsafeBufferPointer { canon.append(contentsOf: UnsafeBufferPointer(rebasing: $0[mark...])) }
    }

    mutating func string(_ s: String) {
        let mark = out.count
        JSONValue.writeString(s, to: &out)
        mirror(from: mark)
    }

    mutating func openObject() {
        append(UInt8(ascii: "{"))
        if hashing { frames.append((canon.count - 1, segments.count)) }
    }

    mutating func key(_ name: String, first: Bool, rank: UInt8) {
        if !first { append(UInt8(ascii: ",")) }
        if hashing {
            segments.append(canon.count)
            ranks.append(rank)
        }
        string(name)
        append(UInt8(ascii: ":"))
    }

    mutating func closeObject() {
        append(UInt8(ascii: "}"))
        guard hashing, let frame = frames.popLast() else { return }
        let first = frame.firstSegment
        let count = segments.count - first
        defer {
            segments.removeLast(count)
            ranks.removeLast(count)
        }
        guard count > 1 else { return }
        let end = canon.count - 1
        func range(_ i: Int) -> Range<Int> { segments[first + i]..<(i + 1 < count ? segments[first + i + 1] - 1 : end) }
        var sorted = true
        for i in (first + 1)..<(first + count) where ranks[i - 1] > ranks[i] { sorted = false; break }
        guard !sorted else { return }
        var order = Array(0..<count)
        order.sort { ranks[first + $0] < ranks[first + $1] }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: canon[(frame.start + 1)..<end])
        let base = frame.start + 1
        let ranges = order.map(range)
        scratch.withUnsafeBufferPointer { from in
            canon.withUnsafeMutableBufferPointer { to in
                var p = base
                for (n, r) in ranges.enumerated() {
                    if n > 0 { to[p] = UInt8(ascii: ","); p += 1 }
                    (to.baseAddress! + p).update(from: from.baseAddress! + (r.lowerBound - base), count: r.count)
                    p += r.count
                }
            }
        }
    }

    /// The content hash of the canonical form (16 bytes of SHA-256, hex).
    var contentHash: String {
        Hex.encode(SHA256.hash(data: canon).prefix(16))
    }
}

/// Each structure's member names in canonical order (bytes, a prefix first: the order
/// `JSONValue.canonical` sorts keys in), as a rank per member index, so closing an object
/// in `RenderBuffer` compares small integers instead of keys. The instance's structure also
/// ranks the three fields the renderer adds after its members (`extras`).
struct CanonicalOrder: Sendable {
    static let extras = ["Region", "ReservationId", "OwnerId"]
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
