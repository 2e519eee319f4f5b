@_spi(Bytes) import AWSCore

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
    /// The keys being ranked (`rankKeys`), kept to reuse their storage.
    private var keys: [Key] = []

    private struct Key {
        var prefix: UInt64, start: Int, count: Int, member: Int
    }

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

    /// Closes the innermost open object at its `}`, its members ranked as `member(at:rank:)`
    /// gave them.
    @discardableResult
    mutating func closeObject(at end: Int) -> Bool {
        guard let o = openObjects.last else { return false }
        return close(o, at: end)
    }

    /// Closes the innermost open object at its `}`, ranking its members by their keys in
    /// `document` first, which must be plain (no escape) and distinct: false when they are
    /// not or there are more than 256, and the records are then of no use (the object stays
    /// open, some ranks may be set): the caller gives up on the document.
    mutating func closeObject(at end: Int, rankingKeysIn document: Span<UInt8>) -> Bool {
        guard let o = openObjects.last else { return false }
        let first = objects[o].firstOpenMember
        guard rankKeys(first..<openMembers.count, in: document) else { return false }
        return close(o, at: end)
    }

    private mutating func close(_ o: Int, at end: Int) -> Bool {
        let first = objects[o].firstOpenMember, count = openMembers.count - first
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
            // On the stack: ranks are below 256 (an EC2 structure has fewer than 128 members).
            var byRank = InlineArray<256, Int32>(repeating: -1)
            var placed = true
            for i in first..<(first + count) where placed {
                placed = byRank[Int(openMembers[i].rank)] < 0
                byRank[Int(openMembers[i].rank)] = Int32(i)
            }
            if placed {
                for r in 0...maxRank where byRank[r] >= 0 { members.append(member(Int(byRank[r]))) }
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
    private mutating func rankKeys(_ range: Range<Int>, in document: Span<UInt8>) -> Bool {
        let n = range.count
        guard n <= 256 else { return false }
        @inline(__always) func less(_ a: Key, _ b: Key) -> Bool {
            if a.prefix != b.prefix { return a.prefix < b.prefix }
            let common = min(a.count, b.count)
            if common > 8 {
                let order = Word.compare(document, a.start + 8, document, b.start + 8, count: common - 8)
                if order != 0 { return order < 0 }
            }
            return a.count < b.count
        }
        // The reused storage, held locally while ranking so that it is uniquely owned: the
        // sort then writes through one mutable span, with no uniqueness check per write.
        var keys: [Key] = []
        swap(&keys, &self.keys)
        defer { swap(&keys, &self.keys) }
        keys.removeAll(keepingCapacity: true)
        for k in 0..<n {
            let start = openMembers[range.lowerBound + k].start + 1
            guard start > 0, start < document.count,
                  let quote = ByteCursor(at: start).firstIndex(of: UInt8(ascii: "\""), in: document) else { return false }
            let count = quote - start
            var prefix: UInt64 = 0
            if count >= 8 {
                prefix = Word.load(document, at: start).byteSwapped
            } else {
                for j in 0..<count { prefix = prefix << 8 | UInt64(document[start + j]) }
                prefix <<= UInt64(8 * (8 - count))
            }
            keys.append(Key(prefix: prefix, start: start, count: count, member: k))
        }
        var sorted = keys.mutableSpan
        // Objects are small (an EC2 instance has about sixty members): insertion sort.
        for k in 1..<max(n, 1) {
            let key = sorted[k]
            var j = k
            while j > 0, less(key, sorted[j - 1]) {
                sorted[j] = sorted[j - 1]
                j -= 1
            }
            sorted[j] = key
        }
        for place in 0..<n {
            // Neither key before the other: the same key twice.
            if place > 0, !less(sorted[place - 1], sorted[place]) { return false }
            openMembers[range.lowerBound + sorted[place].member].rank = UInt8(place)
        }
        return true
    }

    /// The canonical form of `document` (the bytes these records were taken from) in
    /// `scratch`, which the caller keeps to reuse its storage. False if the records do not
    /// fit the bytes: the caller then hashes the value tree, which is the definition.
    func canonical(of document: Span<UInt8>, into scratch: OutputBuffer) -> Bool {
        scratch.reset()
        guard !objects.isEmpty else {
            scratch.append(document)
            return openObjects.isEmpty
        }
        guard openObjects.isEmpty else { return false }
        // The canonical form is a permutation of the document's members: the same length.
        return copy(object: 0, from: document, to: scratch) && scratch.count == document.count
    }

    /// Copies object `o` in canonical order to the end of `to`, never past `from`'s length
    /// (false if it would). Recursion follows the objects' nesting: the model's shapes (at
    /// most 11 levels; see `ShapeDecoder`) or a reader's own depth cap, never the input.
    private func copy(object o: Int, from bytes: Span<UInt8>, to out: OutputBuffer) -> Bool {
        @inline(__always) func copy(_ from: Int, _ upTo: Int) -> Bool {
            guard from >= 0, from <= upTo, upTo <= bytes.count, out.count + (upTo - from) <= bytes.count else { return false }
            out.append(bytes.extracting(from..<upTo))
            return true
        }
        @inline(__always) func put(_ byte: UInt8) -> Bool {
            guard out.count < bytes.count else { return false }
            out.append(byte)
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
                guard copy(p, objects[j].start), self.copy(object: j, from: bytes, to: out) else { return false }
                p = objects[j].end + 1
                j = objects[j].afterSubtree
            }
            guard copy(p, member.end) else { return false }
        }
        return put(UInt8(ascii: "}"))
    }
}
