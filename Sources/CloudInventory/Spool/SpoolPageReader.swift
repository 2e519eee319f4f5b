@_spi(Bytes) import AWSCore

/// A spooled page line read straight into a `RenderedPage`, for replay: each instance stays
/// a span of the line, its content hash is copied out of its bytes in canonical order
/// (`CanonicalRecords`), and only new or changed instances are ever read into values, as on a
/// live poll. Parsing the line into a value tree and hashing the tree cost more than the whole
/// first poll it replays.
///
/// The grammar is `JSONGrammar`'s; this visitor takes only what the spool writer itself
/// writes: no whitespace, strings as `JSONValue.writeString` escapes them (valid UTF-8, no
/// other escape, no raw control byte), integers (no `-0`, fraction or exponent; the grammar
/// refuses leading zeros and reads past Int64 as a double), plain distinct keys, every
/// instance an object with a plain `InstanceId`, and `State.Name`, when there is one, plain.
/// Those bytes are exactly what `JSONValue.write` gives back for the value they parse to, so
/// the hash, id and state equal the value path's. Anything else returns nil, and the line
/// takes the value path (`Spool.parseRecord`), which decides. Nesting is capped
/// (`maximumDepth`), never taken from the input.
struct SpoolPageReader: JSONVisitor {
    /// 64 levels below an instance (which is at depth 2 of its line): far deeper than an EC2
    /// instance (about a dozen levels); deeper lines take the value path.
    static var maximumDepth: Int { 66 }
    static var allowsWhitespace: Bool { false }

    /// Where a value goes: the line's head (`Kind`, `Account`, `Region`, `Instances`), an
    /// instance, the instance's id or state, the state's name, or anywhere else in an instance.
    enum Slot { case top, kind, account, region, instances, instance, instanceId, state, stateName, plain }
    /// What an open object or array is.
    enum Mark { case top, instances, instance, state, other }

    /// A name the reader looks for, as bytes.
    struct StaticName {
        let bytes: [UInt8]
        init(_ name: String) { bytes = Array(name.utf8) }
    }

    private static let head = [StaticName("Kind"), StaticName("Account"), StaticName("Region"), StaticName("Instances")]
    private static let instanceIdKey = StaticName("InstanceId"), stateKey = StaticName("State"), nameKey = StaticName("Name")
    private static let pageKind = StaticName("page")
    private static let headSlots: [Slot] = [.kind, .account, .region, .instances]

    private var records = CanonicalRecords()
    private let scratch = OutputBuffer(capacity: 4096)
    private var headKeys = 0
    private var account = "", region = ""
    private var page = RenderedPage(json: [], count: 0, states: [:], nextToken: nil)
    /// The instances' bytes in the line: between the brackets of `Instances`.
    private var instances = 0..<0
    /// The instance being read: where it starts in the line, and its id and state as found.
    private var base = 0
    private var instanceId: String?
    private var stateName: String?

    /// The slice and page of a page line (without its newline) in the writer's form; nil for
    /// any other line.
    static func read(_ line: ArraySlice<UInt8>) -> (slice: SliceID, page: RenderedPage)? {
        var reader = SpoolPageReader()
        do { try JSONGrammar.walk(line.span, into: &reader) } catch { return nil }
        let start = line.startIndex
        reader.page.json = Array(line[(start + reader.instances.lowerBound)..<(start + reader.instances.upperBound)])
        return (SliceID(account: reader.account, region: reader.region), reader.page)
    }

    static func read(_ line: [UInt8]) -> (slice: SliceID, page: RenderedPage)? { read(line[...]) }

    /// Not the writer's form: the line takes the value path.
    private static func refuse(_ offset: Int = 0) -> JSONValue.ParseError {
        JSONValue.ParseError(offset: offset, reason: "not the spool writer's form")
    }

    func rootSlot() -> Slot { .top }

    mutating func beginObject(in slot: Slot, at offset: Int, depth: Int) throws(JSONValue.ParseError) -> Mark {
        switch slot {
        case .top: return .top
        case .instance:
            base = offset
            records.reset()
            (instanceId, stateName) = (nil, nil)
            records.openObject(at: 0)
            return .instance
        case .state, .plain:
            records.openObject(at: offset - base)
            return slot == .state ? .state : .other
        default: throw Self.refuse(offset)
        }
    }

    /// Keys with an escape are not the writer's (nor of any EC2 model name).
    func key(escaped: String, at offset: Int, in object: Mark) throws(JSONValue.ParseError) -> Slot { throw Self.refuse(offset) }

    mutating func key(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in object: Mark) throws(JSONValue.ParseError) -> Slot {
        if object == .top {
            guard headKeys < Self.head.count, form == .ascii, Self.run(raw, is: Self.head[headKeys]) else { throw Self.refuse(offset) }
            headKeys += 1
            return Self.headSlots[headKeys - 1]
        }
        guard Self.isPlain(raw, form) else { throw Self.refuse(offset) }
        // Keys are ranked by their bytes when the object closes (`CanonicalRecords`).
        records.member(at: offset - base, keyCount: raw.count)
        // The lengths first (10, 5, 4): nearly every key is settled without a byte compared.
        switch (object, raw.count) {
        case (.instance, 10): return Self.run(raw, is: Self.instanceIdKey) ? .instanceId : .plain
        case (.instance, 5): return Self.run(raw, is: Self.stateKey) ? .state : .plain
        case (.state, 4): return Self.run(raw, is: Self.nameKey) ? .stateName : .plain
        default: return .plain
        }
    }

    mutating func endObject(_ object: Mark, in slot: Slot, at offset: Int, text: Span<UInt8>) throws(JSONValue.ParseError) {
        if object == .top {
            guard headKeys == Self.head.count else { throw Self.refuse(offset) }
            return
        }
        guard records.closeObject(at: offset - base, rankingKeysIn: text.extracting(base..<text.count)) else { throw Self.refuse(offset) }
        guard object == .instance else { return }
        guard let id = instanceId, records.canonical(of: text.extracting(base..<(offset + 1)), into: scratch) else {
            throw Self.refuse(offset)
        }
        page.count += 1
        page.spans.append((base - instances.lowerBound)..<(offset + 1 - instances.lowerBound))
        page.instanceIds.append(id)
        page.stateNames.append(stateName)
        page.states[stateName ?? "unknown", default: 0] += 1
        page.hashes.append(InventoryStore.contentHash(ofCanonical: scratch))
    }

    mutating func beginArray(in slot: Slot, at offset: Int, depth: Int) throws(JSONValue.ParseError) -> Mark {
        switch slot {
        case .instances:
            instances = (offset + 1)..<(offset + 1)
            return .instances
        case .state, .plain: return .other
        default: throw Self.refuse(offset)
        }
    }

    mutating func item(_ index: Int, in array: Mark) -> Slot { array == .instances ? .instance : .plain }

    mutating func endArray(_ array: Mark, in slot: Slot, at offset: Int, text: Span<UInt8>) {
        if array == .instances { instances = instances.lowerBound..<offset }
    }

    /// An escaped string: only where any string goes, and only in the writer's escapes.
    func string(escaped: String, raw: Span<UInt8>, at offset: Int, in slot: Slot) throws(JSONValue.ParseError) {
        guard slot == .plain || slot == .state, Self.isWriterForm(raw, .escaped) else { throw Self.refuse(offset) }
    }

    mutating func string(_ raw: Span<UInt8>, _ form: JSONStringForm, at offset: Int, in slot: Slot) throws(JSONValue.ParseError) {
        switch slot {
        case .kind:
            guard form == .ascii, Self.run(raw, is: Self.pageKind) else { throw Self.refuse(offset) }
        case .account, .region, .instanceId, .stateName:
            guard Self.isPlain(raw, form) else { throw Self.refuse(offset) }
            let text = JSONGrammar.text(raw)
            switch slot {
            case .account: account = text
            case .region: region = text
            case .instanceId: instanceId = text
            default: stateName = text
            }
        case .plain, .state:
            guard Self.isWriterForm(raw, form) else { throw Self.refuse(offset) }
        default: throw Self.refuse(offset)
        }
    }

    /// An integer that `JSONValue.write` writes back the same: not a double, not `-0`.
    mutating func number(_ value: JSONNumber, raw: Span<UInt8>, in slot: Slot) throws(JSONValue.ParseError) {
        guard slot == .plain || slot == .state, case let .int(i) = value, i != 0 || raw[0] != UInt8(ascii: "-") else {
            throw Self.refuse()
        }
    }

    mutating func literal(_ value: Bool?, in slot: Slot) throws(JSONValue.ParseError) {
        guard slot == .plain || slot == .state else { throw Self.refuse() }
    }
}
