/// Every structure's members in one flat table the renderer reads: each member's wire name,
/// its JSON key (`EC2Model.Member.jsonKey`) and its canonical rank (`CanonicalOrder`), in
/// three arrays of plain values. Reading them from `[Member]` retained and released an array
/// for every member rendered (about a tenth of `--format json`'s instructions); a read of a
/// plain array held by the visitor retains nothing. Built once from the model.
struct MemberTable: Sendable {
    /// One member's place in `bytes` (its wire name, then its key) and its rank.
    private struct Entry: Sendable {
        var start: Int32
        var nameCount: UInt16
        /// The key's length, its comma not counted.
        var keyCount: UInt16
        var rank: UInt8
    }

    /// Per shape, the index in `entries` of its first member (structures only).
    private let firsts: [Int32]
    private let entries: [Entry]
    /// The wire names and keys, back to back; read as spans (`bytes.span.extracting`).
    let bytes: [UInt8]

    init(shapes: [EC2Model.Shape], order: CanonicalOrder) {
        var firsts: [Int32] = []
        var entries: [Entry] = []
        var bytes: [UInt8] = []
        for (shape, definition) in shapes.enumerated() {
            firsts.append(Int32(entries.count))
            guard case let .structure(_, members) = definition else { continue }
            for (m, member) in members.enumerated() {
                entries.append(Entry(start: Int32(bytes.count), nameCount: UInt16(member.xmlBytes.count),
                                     keyCount: UInt16(member.jsonKey.count), rank: order.ranks[shape][m]))
                bytes += member.xmlBytes + [UInt8(ascii: ",")] + member.jsonKey
            }
        }
        (self.firsts, self.entries, self.bytes) = (firsts, entries, bytes)
    }

    /// The index of `shape`'s first member; its member `m` is at `first(shape) + m`.
    // Kept by the inline audit of issue 24: the measurement is in ShapeWalk.swift (`markSeen`).
    @inline(__always) func first(_ shape: Int) -> Int { Int(firsts[shape]) }

    /// Where the member's name on the wire (`EC2Model.Member.xmlBytes`) lies in `bytes`.
    @inline(__always) func wireName(_ member: Int) -> Range<Int> {
        let entry = entries[member]
        let start = Int(entry.start)
        return start..<(start + Int(entry.nameCount))
    }

    /// Where `"Name":`, escaped (`EC2Model.Member.jsonKey`), lies in `bytes`; with `comma`,
    /// the `,` before it too (stored there, so that a member's separator and key are one copy).
    @inline(__always) func jsonKey(_ member: Int, comma: Bool = false) -> Range<Int> {
        let entry = entries[member]
        let start = Int(entry.start) &+ Int(entry.nameCount) &+ (comma ? 0 : 1)
        return start..<(Int(entry.start) &+ Int(entry.nameCount) &+ 1 &+ Int(entry.keyCount))
    }

    /// The member's rank in its structure's canonical order.
    @inline(__always) func rank(_ member: Int) -> UInt8 { entries[member].rank }
}
