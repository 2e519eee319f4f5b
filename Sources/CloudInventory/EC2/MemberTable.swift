/// Every structure's members in one flat table the renderer reads through pointers: each
/// member's wire name, its JSON key (`EC2Model.Member.jsonKey`) and its canonical rank
/// (`CanonicalOrder`). Reading them from `[Member]` retained and released an array for every
/// member rendered (about a tenth of `--format json`'s instructions); a pointer read retains
/// nothing. Built once from the model and never freed: it lives as long as the model does.
struct MemberTable: @unchecked Sendable {
    /// One member's place in `bytes` (its wire name, then its key) and its rank.
    private struct Entry {
        var start: Int32
        var nameCount: UInt16
        var keyCount: UInt16
        var rank: UInt8
    }

    /// Per shape, the index in `entries` of its first member (structures only).
    private let firsts: UnsafeMutableBufferPointer<Int32>
    private let entries: UnsafeMutableBufferPointer<Entry>
    private let bytes: UnsafeMutableBufferPointer<UInt8>

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
                bytes += member.xmlBytes + member.jsonKey
            }
        }
        func immortal<T>(_ array: [T]) -> UnsafeMutableBufferPointer<T> {
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(array.count, 1))
            _ = buffer.initialize(from: array)
            return buffer
        }
        self.firsts = immortal(firsts)
        self.entries = immortal(entries)
        self.bytes = immortal(bytes)
    }

    /// The index of `shape`'s first member; its member `m` is at `first(shape) + m`.
    @inline(__always) func first(_ shape: Int) -> Int { Int(firsts[shape]) }

    /// The member's name on the wire (`EC2Model.Member.xmlBytes`).
    @inline(__always) func wireName(_ member: Int) -> UnsafeBufferPointer<UInt8> {
        let entry = entries[member]
        return UnsafeBufferPointer(start: bytes.baseAddress! + Int(entry.start), count: Int(entry.nameCount))
    }

    /// `"Name":`, escaped (`EC2Model.Member.jsonKey`).
    @inline(__always) func jsonKey(_ member: Int) -> UnsafeBufferPointer<UInt8> {
        let entry = entries[member]
        return UnsafeBufferPointer(start: bytes.baseAddress! + Int(entry.start) + Int(entry.nameCount), count: Int(entry.keyCount))
    }

    /// The member's rank in its structure's canonical order.
    @inline(__always) func rank(_ member: Int) -> UInt8 { entries[member].rank }
}
