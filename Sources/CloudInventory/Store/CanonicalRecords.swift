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
    /// `keyCount` is its key's length when a reader gave it (`member(at:keyCount:)`), for
    /// `rankKeys` (it fits in the tuple's padding after `rank`).
    private var openMembers: [(start: Int, rank: UInt8, keyCount: UInt32, firstObject: Int)] = []
    /// The keys being ranked (`rankKeys`), kept to reuse their storage.
    private var keys: [Key] = []
    /// For each object size, the order (member indices) its last object's keys sorted to
    /// (`rankKeys`): empty until a reader ranks keys.
    private var lastOrders: [UInt8] = []

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
    /// in its object's canonical order (`CanonicalOrder`); a reader without the model calls
    /// `member(at:keyCount:)` instead and has `closeObject(at:rankingKeysIn:)` rank the keys.
    mutating func member(at start: Int, rank: UInt8) {
        openMembers.append((start, rank, 0, objects.count))
    }

    /// A member of the innermost open object whose key starts at `start` and has `keyCount`
    /// bytes between its quotes, plain (no escape), to be ranked by
    /// `closeObject(at:rankingKeysIn:)`: the reader has just read the key, so the ranking
    /// need not look for its end again.
    mutating func member(at start: Int, keyCount: Int) {
        openMembers.append((start, 0, UInt32(truncatingIfNeeded: keyCount), objects.count))
    }

    /// Closes the innermost open object at its `}`, its members ranked as `member(at:rank:)`
    /// gave them.
    @discardableResult
    mutating func closeObject(at end: Int) -> Bool {
        guard let o = openObjects.last else { return false }
        return close(o, at: end)
    }

    /// Closes the innermost open object at its `}`, ranking its members (each given by
    /// `member(at:keyCount:)`) by their keys in `document` first, which must be plain (no
    /// escape) and distinct: false when they are not or there are more than 256, and the
    /// records are then of no use (the object stays open, some ranks may be set): the caller
    /// gives up on the document.
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
        func member(_ i: Int) -> Member {
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
    /// `JSONValue.canonical` sorts). Each key is the `keyCount` bytes after its quote, and
    /// has no NUL (a control byte is escaped in JSON), so zero-padded eight-byte prefixes
    /// order as the keys do up to ties, which are settled on the rest.
    ///
    /// Objects of one shape recur (every instance of a page has nearly the same members, in
    /// the model's order), so the keys are laid out in the order the last object of the same
    /// size sorted to (`lastOrders`) before the insertion sort: usually already sorted, it
    /// then costs one comparison a key instead of a quarter of n² compares and moves. The
    /// sort, not the remembered order, decides: any order gives the same ranks.
    private mutating func rankKeys(_ range: Range<Int>, in document: Span<UInt8>) -> Bool {
        let n = range.count
        guard n <= 256 else { return false }
        // The reused storage, held locally while ranking so that it is uniquely owned: the
        // keys are written and sorted through one mutable span, with no uniqueness check per
        // write. It only grows, so the first `n` places are there to be written.
        var keys: [Key] = [], orders: [UInt8] = []
        swap(&keys, &self.keys)
        swap(&orders, &lastOrders)
        defer {
            swap(&keys, &self.keys)
            swap(&orders, &lastOrders)
        }
        if orders.isEmpty { orders = Self.identityOrders() }
        if keys.count < n { keys.append(contentsOf: repeatElement(Key(prefix: 0, start: 0, count: 0, member: 0), count: n - keys.count)) }
        let remembered = n < Self.rememberedSizes ? n * (n - 1) / 2 : -1
        var order = orders.mutableSpan
        var sorted = keys.mutableSpan
        for k in 0..<n {
            let member = remembered < 0 ? k : Int(order[remembered + k])
            let open = openMembers[range.lowerBound + member]
            guard let key = Self.key(at: open.start + 1, count: Int(open.keyCount), in: document, member: member) else { return false }
            sorted[k] = key
        }
        Self.insertionSort(&sorted, n, by: document)
        // Neither key before the other: the same key twice. (Checked before anything is
        // written, so a remembered order stays a permutation.)
        for place in 1..<max(n, 1) where !Self.less(sorted[place - 1], sorted[place], in: document) { return false }
        for place in 0..<n {
            openMembers[range.lowerBound + sorted[place].member].rank = UInt8(place)
            if remembered >= 0 { order[remembered + place] = UInt8(sorted[place].member) }
        }
        return true
    }

    /// Objects of up to this many members have their last order remembered (an EC2 instance
    /// has about sixty members; 8 KB of orders).
    private static let rememberedSizes = 128

    /// The remembered orders, each size's run starting as the members' own order.
    private static func identityOrders() -> [UInt8] {
        var orders: [UInt8] = []
        orders.reserveCapacity(rememberedSizes * (rememberedSizes - 1) / 2)
        for n in 0..<rememberedSizes {
            for k in 0..<n { orders.append(UInt8(k)) }
        }
        return orders
    }

    /// The key of `count` bytes at `start` (after its quote), or nil when they are not all
    /// inside `document`. The prefix is the first eight bytes, zero-padded: one word load
    /// (the closing quote and what follows it are in the document) masked to the key.
    private static func key(at start: Int, count: Int, in document: Span<UInt8>, member: Int) -> Key? {
        guard start > 0, count >= 0, count <= document.count - start else { return nil }
        let prefix: UInt64
        if start <= document.count - 8 {
            let word = Word.load(document, at: start).byteSwapped
            prefix = count >= 8 ? word : count == 0 ? 0 : word & ~(UInt64.max >> UInt64(8 * count))
        } else {
            var bytes: UInt64 = 0
            for j in 0..<min(count, 8) { bytes |= UInt64(document[start + j]) << UInt64(56 - 8 * j) }
            prefix = bytes
        }
        return Key(prefix: prefix, start: start, count: count, member: member)
    }

    /// Whether key `a` sorts before `b`: by prefix, then the rest of their bytes, then length.
    private static func less(_ a: Key, _ b: Key, in document: Span<UInt8>) -> Bool {
        if a.prefix != b.prefix { return a.prefix < b.prefix }
        let common = min(a.count, b.count)
        if common > 8 {
            let order = Word.compare(document, a.start + 8, document, b.start + 8, count: common - 8)
            if order != 0 { return order < 0 }
        }
        return a.count < b.count
    }

    /// Objects are small and their keys usually come nearly sorted: insertion sort.
    private static func insertionSort(_ keys: inout MutableSpan<Key>, _ n: Int, by document: Span<UInt8>) {
        for k in 1..<max(n, 1) {
            let key = keys[k]
            var j = k
            while j > 0, less(key, keys[j - 1], in: document) {
                keys[j] = keys[j - 1]
                j -= 1
            }
            keys[j] = key
        }
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
        func copy(_ from: Int, _ upTo: Int) -> Bool {
            guard from >= 0, from <= upTo, upTo <= bytes.count, out.count + (upTo - from) <= bytes.count else { return false }
            out.append(bytes.extracting(from..<upTo))
            return true
        }
        func put(_ byte: UInt8) -> Bool {
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
