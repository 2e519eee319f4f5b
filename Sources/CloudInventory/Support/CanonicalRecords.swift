import Glibc

/// Where every object and member of one JSON document lies, noted while the document is
/// written (`RenderBuffer`) or read (`SpoolPageReader`), so that its canonical form can be
/// copied out of its bytes afterwards in one pass, for the content hash.
///
/// The canonical form sorts every object's members by name (`JSONValue.canonical` is the same
/// form built from a value tree), so EC2 sending the same instance with its elements in
/// another order hashes the same and costs no write. It is a permutation of the document's
/// members: an object whose members (and theirs) are already in canonical order is copied
/// whole. Positions are byte offsets into the document.
struct CanonicalRecords {
    /// Every object opened so far, in the order they opened (so an object's descendants
    /// follow it, up to `afterSubtree`).
    private var objects: [Object] = []
    /// The members of closed objects: each object's run, in canonical order.
    private var members: [Member] = []
    /// The objects still open, innermost last.
    private var openObjects: [Int] = []
    /// The members of the open objects as they came: where the key starts (its opening
    /// quote), its rank in its object's canonical order, and the first object opened after it.
    private var openMembers: [(start: Int, rank: UInt8, firstObject: Int)] = []

    private struct Object {
        /// `{` and `}`.
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

    init(reserving: Bool = true) {
        guard reserving else { return }
        // An EC2 instance: a few dozen objects, about a hundred members, a few levels.
        objects.reserveCapacity(32)
        members.reserveCapacity(128)
        openMembers.reserveCapacity(64)
    }

    /// Forgets the document, keeping the storage.
    mutating func reset() {
        objects.removeAll(keepingCapacity: true)
        members.removeAll(keepingCapacity: true)
        openObjects.removeAll(keepingCapacity: true)
        openMembers.removeAll(keepingCapacity: true)
    }

    mutating func openObject(at start: Int) {
        openObjects.append(objects.count)
        objects.append(Object(start: start, firstOpenMember: openMembers.count))
    }

    /// A member of the innermost open object whose key starts at `start`. `rank` is its place
    /// in its object's canonical order (`CanonicalOrder`); a reader without the model passes
    /// 0 and has `closeObject(at:keysIn:)` rank the keys.
    mutating func member(at start: Int, rank: UInt8) {
        openMembers.append((start, rank, objects.count))
    }

    /// Closes the innermost open object at its `}`. With `keysIn`, the document's bytes, the
    /// members are ranked by their keys first, which must be plain (no escape) and distinct:
    /// false when they are not or there are more than 256, and the records are then of no use
    /// (the object stays open, some ranks may be set): the caller gives up on the document.
    @discardableResult
    mutating func closeObject(at end: Int, keysIn document: UnsafeBufferPointer<UInt8>? = nil) -> Bool {
        guard let o = openObjects.last else { return false }
        let first = objects[o].firstOpenMember, count = openMembers.count - first
        if let document, !rankKeys(first..<(first + count), in: document) { return false }
        openObjects.removeLast()
        var object = objects[o]
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
        return true
    }

    /// Ranks `range` of `openMembers` by their keys' bytes (a prefix first, as
    /// `JSONValue.canonical` sorts). Each key runs from its quote to the next quote, and has
    /// no NUL (a control byte is escaped in JSON), so zero-padded eight-byte prefixes order
    /// as the keys do up to ties, which are settled on the rest.
    private mutating func rankKeys(_ range: Range<Int>, in document: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = range.count
        guard n <= 256, let base = document.baseAddress else { return n == 0 }
        typealias Key = (prefix: UInt64, start: Int, count: Int, member: Int)
        @inline(__always) func less(_ a: Key, _ b: Key) -> Bool {
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            let common = min(a.count, b.count)
            if common > 8 {
                let order = memcmp(base + a.start + 8, base + b.start + 8, common - 8)
                if order != 0 { return order < 0 }
            }
            return a.count < b.count
        }
        return withUnsafeTemporaryAllocation(of: Key.self, capacity: n) { keys in
            for k in 0..<n {
                let start = openMembers[range.lowerBound + k].start + 1
                guard start < document.count, let quote = memchr(base + start, Int32(UInt8(ascii: "\"")), document.count - start) else { return false }
                let count = UnsafeRawPointer(quote) - UnsafeRawPointer(base + start)
                var prefix: UInt64 = 0
                if count >= 8 {
                    prefix = UInt64(bigEndian: UnsafeRawPointer(base + start).loadUnaligned(as: UInt64.self))
                } else {
                    for j in 0..<count { prefix = prefix << 8 | UInt64(base[start + j]) }
                    prefix <<= UInt64(8 * (8 - count))
                }
                (keys.baseAddress! + k).initialize(to: (prefix, start, count, k))
            }
            // Objects are small (an EC2 instance has about sixty members): insertion sort.
            for k in 1..<max(n, 1) {
                let key = keys[k]
                var j = k
                while j > 0, less(key, keys[j - 1]) {
                    keys[j] = keys[j - 1]
                    j -= 1
                }
                keys[j] = key
            }
            for place in 0..<n {
                // Neither key before the other: the same key twice.
                if place > 0, !less(keys[place - 1], keys[place]) { return false }
                openMembers[range.lowerBound + keys[place].member].rank = UInt8(place)
            }
            return true
        }
    }

    /// The canonical form of `document` (the bytes these records were taken from) in
    /// `scratch`, which the caller keeps to reuse its storage. False if the records do not
    /// fit the bytes: the caller then hashes the value tree, which is the definition.
    func canonical(of document: UnsafeBufferPointer<UInt8>, into scratch: inout [UInt8]) -> Bool {
        // The canonical form is a permutation of the document's members: the same length.
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: document)
        guard !objects.isEmpty else { return openObjects.isEmpty }
        guard openObjects.isEmpty else { return false }
        return scratch.withUnsafeMutableBufferPointer { to in
            guard let base = to.baseAddress else { return false }
            var cursor = 0
            return copy(object: 0, from: document, to: base, cursor: &cursor) && cursor == document.count
        }
    }

    /// Copies object `o` in canonical order to `to` at `cursor`, never past `from`'s length
    /// (false if it would). Recursion follows the objects' nesting: the model's shapes (at
    /// most 11 levels; see `ShapeDecoder`) or a reader's own depth cap, never the input.
    private func copy(object o: Int, from bytes: UnsafeBufferPointer<UInt8>, to: UnsafeMutablePointer<UInt8>,
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
                guard copy(p, objects[j].start), self.copy(object: j, from: bytes, to: to, cursor: &cursor) else { return false }
                p = objects[j].end + 1
                j = objects[j].afterSubtree
            }
            guard copy(p, member.end) else { return false }
        }
        return put(UInt8(ascii: "}"))
    }
}
