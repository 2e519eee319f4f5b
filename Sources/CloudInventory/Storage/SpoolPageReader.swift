import Glibc

/// A spooled page line read straight into a `RenderedPage`, for replay: each instance stays
/// a span of the line, its content hash is copied out of its bytes in canonical order
/// (`CanonicalRecords`), and only new or changed instances are ever read into values, as on a
/// live poll. Parsing the line into a value tree and hashing the tree cost more than the whole
/// first poll it replays.
///
/// It takes only what the spool writer itself writes: no whitespace, strings as
/// `JSONValue.writeString` escapes them (valid UTF-8, no other escape), integers within Int64
/// (no `-0`, no leading zero, fraction or exponent), plain distinct keys, every instance an object
/// with a plain `InstanceId`, and `State.Name`, when there is one, plain. Those bytes are
/// exactly what `JSONValue.write` gives back for the value they parse to, so the hash, id and
/// state equal the value path's. Anything else returns nil, and the line takes the value path
/// (`Spool.parseRecord`), which decides. Nesting is capped (`maximumDepth`), never taken
/// from the input.
struct SpoolPageReader {
    /// Far deeper than an EC2 instance (about a dozen levels); deeper lines take the value path.
    static let maximumDepth = 64

    private let line: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var records = CanonicalRecords()
    /// The instance being read: where it starts in `line`, and its id and state as found.
    private var base = 0
    private var instanceId: String?
    private var stateName: String?

    /// What a string value is, for the instance's row: nothing, its id, or its state.
    private enum Capture { case none, instanceId, state, stateName }

    private init(_ line: UnsafeBufferPointer<UInt8>) {
        self.line = line
    }

    /// The slice and page of a page line (without its newline) in the writer's form; nil for
    /// any other line.
    static func read(_ line: UnsafeBufferPointer<UInt8>) -> (slice: SliceID, page: RenderedPage)? {
        var reader = SpoolPageReader(line)
        guard reader.literal("{\"Kind\":\"page\",\"Account\":"), let account = reader.plainString(),
              reader.literal(",\"Region\":"), let region = reader.plainString(),
              reader.literal(",\"Instances\":["), let page = reader.instances(), reader.literal("]}"),
              reader.i == line.count else { return nil }
        return (SliceID(account: account, region: region), page)
    }

    private mutating func instances() -> RenderedPage? {
        let start = i
        var page = RenderedPage(json: [], count: 0, states: [:], nextToken: nil)
        let scratch = OutputBuffer(capacity: 4096)
        while i < line.count, line[i] != UInt8(ascii: "]") {
            if page.count > 0 {
                guard line[i] == UInt8(ascii: ","), i + 1 < line.count else { return nil }
                i += 1
            }
            guard line[i] == UInt8(ascii: "{") else { return nil }
            base = i
            records.reset()
            (instanceId, stateName) = (nil, nil)
            guard value(depth: 0, capture: .none), let id = instanceId,
                  records.canonical(of: unsafe UnsafeBufferPointer(rebasing: line[base..<i]).span, into: scratch) else { return nil }
            page.count += 1
            page.spans.append((base - start)..<(i - start))
            page.instanceIds.append(id)
            page.stateNames.append(stateName)
            page.states[stateName ?? "unknown", default: 0] += 1
            page.hashes.append(InventoryStore.contentHash(ofCanonical: scratch))
        }
        page.json = Array(line[start..<i])
        return page
    }

    /// One value at `i`, in the writer's form; its objects go into `records`.
    private mutating func value(depth: Int, capture: Capture) -> Bool {
        guard depth < Self.maximumDepth, i < line.count else { return false }
        // An id or a state is a string, or the line takes the value path.
        if capture == .instanceId || capture == .stateName, line[i] != UInt8(ascii: "\"") { return false }
        switch line[i] {
        case UInt8(ascii: "{"): return object(depth: depth, capture: capture)
        case UInt8(ascii: "["):
            i += 1
            var first = true
            while i < line.count, line[i] != UInt8(ascii: "]") {
                if !first {
                    guard line[i] == UInt8(ascii: ",") else { return false }
                    i += 1
                }
                first = false
                guard value(depth: depth + 1, capture: .none) else { return false }
            }
            guard i < line.count else { return false }
            i += 1
            return true
        case UInt8(ascii: "\""):
            switch capture {
            case .instanceId:
                instanceId = plainString()
                return instanceId != nil
            case .stateName:
                stateName = plainString()
                return stateName != nil
            case .none, .state:
                return string()
            }
        case UInt8(ascii: "t"): return literal("true")
        case UInt8(ascii: "f"): return literal("false")
        case UInt8(ascii: "n"): return literal("null")
        default: return integer()
        }
    }

    private mutating func object(depth: Int, capture: Capture) -> Bool {
        records.openObject(at: i - base)
        i += 1
        var first = true
        while i < line.count, line[i] != UInt8(ascii: "}") {
            if !first {
                guard line[i] == UInt8(ascii: ",") else { return false }
                i += 1
            }
            first = false
            let keyStart = i
            guard let key = plainRun(), i < line.count, line[i] == UInt8(ascii: ":") else { return false }
            i += 1
            // Keys are ranked by their bytes when the object closes (`CanonicalRecords`).
            records.member(at: keyStart - base, rank: 0)
            var inner = Capture.none
            if depth == 0, capture == .none {
                inner = Self.run(key, is: "InstanceId") ? .instanceId : Self.run(key, is: "State") ? .state : .none
            } else if capture == .state, Self.run(key, is: "Name") {
                inner = .stateName
            }
            guard value(depth: depth + 1, capture: inner) else { return false }
        }
        guard i < line.count else { return false }
        let closed = records.closeObject(at: i - base, rankingKeysIn: unsafe UnsafeBufferPointer(rebasing: line[base...]).span)
        i += 1
        return closed
    }

    /// `literal` exactly at `i`.
    private mutating func literal(_ text: StaticString) -> Bool {
        let n = text.utf8CodeUnitCount
        guard line.count - i >= n, memcmp(line.baseAddress! + i, text.utf8Start, n) == 0 else { return false }
        i += n
        return true
    }

    /// `-?(0|[1-9][0-9]*)` within Int64, not `-0`, followed by no fraction or exponent: an
    /// integer that `JSONValue.write` writes back the same.
    private mutating func integer() -> Bool {
        let start = i
        if line[i] == UInt8(ascii: "-") { i += 1 }
        let digits = i
        while i < line.count, line[i] &- UInt8(ascii: "0") < 10 { i += 1 }
        let n = i - digits
        guard (1...19).contains(n), line[digits] != UInt8(ascii: "0") || (n == 1 && digits == start) else { return false }
        if n == 19 {
            // Past Int64 it parses as a double and is written back otherwise.
            let limit: StaticString = digits == start ? "9223372036854775807" : "9223372036854775808"
            guard memcmp(line.baseAddress! + digits, limit.utf8Start, 19) <= 0 else { return false }
        }
        return i == line.count || (line[i] != UInt8(ascii: ".") && line[i] != UInt8(ascii: "e") && line[i] != UInt8(ascii: "E"))
    }

    /// A string with no escape, as text: ids, states, the head's account and region.
    private mutating func plainString() -> String? {
        guard let run = plainRun() else { return nil }
        return String(decoding: run, as: UTF8.self)
    }

    /// Whether `run` is `name`'s bytes.
    private static func run(_ run: UnsafeBufferPointer<UInt8>, is name: StaticString) -> Bool {
        run.count == name.utf8CodeUnitCount && memcmp(run.baseAddress!, name.utf8Start, run.count) == 0
    }

    /// `"…"` at `i` with no escape and valid UTF-8: its bytes.
    private mutating func plainRun() -> UnsafeBufferPointer<UInt8>? {
        guard i < line.count, line[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        var p = start, ascii = true
        while true {
            p = Word.firstNotPlainASCII(line, from: p)
            guard p < line.count else { return nil }
            if line[p] >= 0x80 {
                ascii = false
                p += 1
                continue
            }
            guard line[p] == UInt8(ascii: "\"") else { return nil }
            let run = UnsafeBufferPointer(rebasing: line[start..<p])
            guard ascii || String(validating: run, as: UTF8.self) != nil else { return nil }
            i = p + 1
            return run
        }
    }

    /// Any string value as `JSONValue.writeString` writes it: `\"`, `\\`, `\n`, `\r`, `\t`, and
    /// `\u00xx` (lower-case hex) for the other control characters; no other escape.
    private mutating func string() -> Bool {
        let start = i + 1
        var p = start, ascii = true
        while true {
            p = Word.firstNotPlainASCII(line, from: p)
            guard p < line.count else { return false }
            switch line[p] {
            case 0x80...:
                ascii = false
                p += 1
            case UInt8(ascii: "\""):
                guard ascii || String(validating: UnsafeBufferPointer(rebasing: line[start..<p]), as: UTF8.self) != nil else { return false }
                i = p + 1
                return true
            case UInt8(ascii: "\\"):
                guard let next = escape(at: p) else { return false }
                p = next
            default:
                return false  // a raw control character: the writer escapes them all
            }
        }
    }

    /// The end of the escape at `p`, if the writer writes it.
    private func escape(at p: Int) -> Int? {
        guard p + 1 < line.count else { return nil }
        switch line[p + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return p + 2
        case UInt8(ascii: "u"):
            guard line.count - p >= 6, line[p + 2] == UInt8(ascii: "0"), line[p + 3] == UInt8(ascii: "0"),
                  line[p + 4] == UInt8(ascii: "0") || line[p + 4] == UInt8(ascii: "1") else { return nil }
            let low = line[p + 5]
            let nibble = low &- UInt8(ascii: "0") < 10 ? low &- UInt8(ascii: "0") : low &- UInt8(ascii: "a") < 6 ? low &- UInt8(ascii: "a") + 10 : 255
            guard nibble < 16 else { return nil }
            let control = (line[p + 4] &- UInt8(ascii: "0")) << 4 | nibble
            return control == 0x0A || control == 0x0D || control == 0x09 ? nil : p + 6
        default:
            return nil
        }
    }
}
