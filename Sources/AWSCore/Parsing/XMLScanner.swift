/// Why a response body could not be read. Carries the byte offset, never the body itself,
/// so the message is safe to log.
public struct XMLError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public let offset: Int
    /// Thrown by the shape walk's fast mode when an element repeats in a structure: the walk
    /// catches it and reads the instance again in its careful mode (`ShapeDecoder.walkInstance`).
    @_spi(Bytes) public let isRepeat: Bool

    @_spi(Bytes) public static func malformed(_ reason: String, at offset: Int) -> XMLError {
        XMLError(reason: reason, offset: offset, isRepeat: false)
    }

    @_spi(Bytes) public static func repeated(_ element: String, at offset: Int) -> XMLError {
        XMLError(reason: "repeated <\(element)>", offset: offset, isRepeat: true)
    }

    public var description: String { "malformed XML at byte \(offset): \(reason)" }
}

/// A minimal pull scanner for the XML that AWS Query services return.
///
/// Why not Foundation's `XMLParser`: on Linux it is libxml2 behind a delegate that builds a
/// `String` per callback, which costs more than everything else in a poll put together, and it
/// cannot be paused to stream page by page. AWS responses use a tiny subset of XML (elements,
/// text, the five named entities and numeric references, an optional declaration), so a
/// scanner over the raw bytes is short, fast and strict: anything it does not understand is a
/// `malformed` error, never a crash.
///
/// Its `@inline(__always)` (and `XMLScanner+Render`'s) are kept: the audit of issue 24 (`make
/// perf-gate`, 2026-12-08) measured json +11.1%, text +8.9%, csv +8.7% without them, and
/// without only the value readers' five (`equal`, `sameName`, `plainValueEnd`,
/// `readTextOrRange`, `rangeIfASCII`) json +4.7%, which with the removals made elsewhere
/// would pass the 5% allowed.
@_spi(Bytes) public struct XMLScanner {
    @_spi(Bytes) public enum Event {
        /// A start tag; `name` is a range into the buffer. Self-closing tags produce `start` then `end`.
        case start(name: Range<Int>)
        case end(name: Range<Int>)
        case text(Range<Int>, needsDecoding: Bool)
        case eof
    }

    @_spi(Bytes) public let bytes: [UInt8]
    @_spi(Bytes) public var position = 0
    @usableFromInline var pendingEnd: Range<Int>?

    /// Borrows the document, no copy: a page is megabytes and peak memory is a target.
    @inlinable @_spi(Bytes) public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Where the scanner is, to come back to (`reset(to:)`): the walk's careful mode reads
    /// an element twice, first to count its children.
    @_spi(Bytes) public struct Mark {
        @usableFromInline let position: Int
        @usableFromInline let pendingEnd: Range<Int>?
    }

    @_spi(Bytes) public var mark: Mark { Mark(position: position, pendingEnd: pendingEnd) }

    @inlinable @_spi(Bytes) public mutating func reset(to mark: Mark) {
        position = mark.position
        pendingEnd = mark.pendingEnd
    }

    @inlinable @_spi(Bytes) public func name(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// Whether the bytes in `range` are `other`'s (a member's wire name), `Word.equal`.
    @inline(__always)
    @inlinable @_spi(Bytes) public func equal(_ range: Range<Int>, _ other: Span<UInt8>) -> Bool {
        range.count == other.count && Word.equal(bytes.span, range.lowerBound, other, 0, count: range.count)
    }

    @inlinable @_spi(Bytes) public func equal(_ range: Range<Int>, _ other: [UInt8]) -> Bool {
        equal(range, other.span)
    }

    /// True when the bytes in `range` spell `literal`, without allocating.
    @inlinable @_spi(Bytes) public func name(_ range: Range<Int>, equals literal: ByteLiteral) -> Bool {
        range.count == literal.count && literal.matches(bytes.span, at: range.lowerBound)
    }

    @inline(__always)
    @inlinable @_spi(Bytes) public func sameName(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && Word.equal(bytes.span, a.lowerBound, bytes.span, b.lowerBound, count: a.count)
    }

    @inlinable @_spi(Bytes) public mutating func next() throws(XMLError) -> Event {
        try next(skippingText: false)
    }

    /// The next tag or the end: text is passed over inside the scan, not returned, for the
    /// readers that ignore it (`nextChild`, `root`, `skipElement`): half the scans of a page
    /// are the blanks between its elements.
    @inlinable mutating func nextMarkup() throws(XMLError) -> Event {
        try next(skippingText: true)
    }

    @inline(__always)
    @inlinable mutating func next(skippingText: Bool) throws(XMLError) -> Event {
        if let end = pendingEnd {
            pendingEnd = nil
            return .end(name: end)
        }
        // Every read is through the span, bounds-checked. The span borrows all of `self`,
        // so the scan moves a copy of the position, written back however it returns.
        var state = (position: position, pendingEnd: pendingEnd)
        defer { (position, pendingEnd) = state }
        return try Self.scan(bytes.span, &state.position, &state.pendingEnd, skippingText: skippingText)
    }

    /// Inlined into `next` and `nextMarkup`, each with its own `skippingText`: a call here
    /// cost a third of the scan (its prologue, and the position through memory).
    @inline(__always) @inlinable
    static func scan(_ bytes: Span<UInt8>, _ position: inout Int, _ pendingEnd: inout Range<Int>?,
                             skippingText: Bool) throws(XMLError) -> Event {
        let count = bytes.count
        while Bounds.contains(position, count) {
            if bytes[position] != UInt8(ascii: "<") {
                let start = position
                // The blanks between elements (most text events) end at a `<` within a few
                // bytes: found here, before a word scan.
                var p = position
                while Bounds.contains(p, count), ByteCursor.isBlank(bytes[p]) { p &+= 1 }
                if Bounds.contains(p, count), bytes[p] == UInt8(ascii: "<") {
                    position = p
                    if skippingText { continue }
                    return .text(start..<p, needsDecoding: false)
                }
                var end = Word.firstIndex(of: UInt8(ascii: "<"), or: UInt8(ascii: "&"), in: bytes, from: start)
                let needsDecoding = Bounds.contains(end, count) && bytes[end] == UInt8(ascii: "&")
                if needsDecoding { end = Word.firstIndex(of: UInt8(ascii: "<"), in: bytes, from: end) }
                position = end
                if skippingText { continue }
                return .text(start..<position, needsDecoding: needsDecoding)
            }
            // Markup.
            guard Bounds.contains(position &+ 1, count) else { throw XMLError.malformed("truncated tag", at: position) }
            let c = bytes[position &+ 1]
            if c == UInt8(ascii: "?") {
                try skip(bytes, past: "?>", &position)
                continue
            }
            if c == UInt8(ascii: "!") {
                if ByteLiteral("<!--").matches(bytes, at: position) {
                    try skip(bytes, past: "-->", &position)
                    continue
                }
                if ByteLiteral("<![CDATA[").matches(bytes, at: position) {
                    let start = position + 9
                    try skip(bytes, past: "]]>", &position)
                    return .text(start..<(position - 3), needsDecoding: false)
                }
                throw XMLError.malformed("DOCTYPE and other declarations are not accepted", at: position)
            }
            return c == UInt8(ascii: "/") ? try endTag(bytes, &position) : try startTag(bytes, &position, &pendingEnd)
        }
        return .eof
    }

    /// The common value, `text</name>` right after the start tag `name` with no entity, markup
    /// or blank in the end tag: its text's range, read past the end tag. Anything else is nil,
    /// with nothing read, for the event loop to take.
    /// With `plainJSON`, only a value JSON also takes as it is (ASCII, nothing to escape):
    /// the renderer's strings, copied between quotes as they are.
    @inlinable @_spi(Bytes) public mutating func plainValue(startName: Range<Int>, plainJSON: Bool = false) -> Range<Int>? {
        guard pendingEnd == nil, let next = Self.plainValueEnd(bytes.span, from: position, startName: startName, plainJSON: plainJSON) else {
            return nil
        }
        defer { position = next }
        return position..<(next &- 3 &- startName.count)
    }

    /// Where `plainValue`'s end tag ends, or nil.
    @inline(__always)
    @inlinable static func plainValueEnd(_ bytes: Span<UInt8>, from start: Int, startName: Range<Int>, plainJSON: Bool) -> Int? {
        let end = plainJSON ? Word.firstNotPlainText(bytes, from: start)
            : Word.firstIndex(of: UInt8(ascii: "<"), or: UInt8(ascii: "&"), in: bytes, from: start)
        let n = startName.count
        // `</`, the name, `>`: all of it inside the bytes, taken as one span, or no plain value.
        guard n > 0, Bounds.fits(3 &+ n, at: end, in: bytes.count), Bounds.fits(n, at: startName.lowerBound, in: bytes.count) else { return nil }
        let tag = bytes.extracting(end..<(end &+ 3 &+ n))
        guard tag[0] == UInt8(ascii: "<"), tag[1] == UInt8(ascii: "/"), tag[n &+ 2] == UInt8(ascii: ">"),
              Word.equal(tag.extracting(2..<(2 &+ n)), bytes.extracting(startName)) else { return nil }
        return end &+ 3 &+ n
    }

    /// Where the tag name that starts at `start` ends (the end of the bytes at the latest).
    @inline(__always)
    @inlinable static func nameEnd(_ bytes: Span<UInt8>, from start: Int) -> Int {
        var p = start
        // Names are mostly letters, all above `>`: eight bytes at a time until a byte is not.
        let count = bytes.count
        while Bounds.fits(8, at: p, in: count) {
            let below = Word.bytesBelow(Word.load(bytes, at: p), UInt8(ascii: ">") + 1)
            if below != 0 { p &+= below.trailingZeroBitCount / 8; break }
            p &+= 8
        }
        while Bounds.contains(p, count), !isNameEnd(bytes[p]) { p &+= 1 }
        return p
    }

    /// `</name>` (optional spaces before `>`) at `position`.
    @inline(__always)
    @inlinable static func endTag(_ bytes: Span<UInt8>, _ position: inout Int) throws(XMLError) -> Event {
        let count = bytes.count
        let nameStart = position + 2
        let nameEnd = nameEnd(bytes, from: nameStart)
        var p = nameEnd
        while Bounds.contains(p, count), ByteCursor.isBlank(bytes[p]) { p &+= 1 }
        guard Bounds.contains(p, count), bytes[p] == UInt8(ascii: ">"), nameEnd > nameStart else {
            throw XMLError.malformed("truncated or bad end tag", at: position)
        }
        position = p + 1
        return .end(name: nameStart..<nameEnd)
    }

    /// `<name attributes>` or `<name/>` at `position`; a self-closing tag queues its end.
    @inline(__always)
    @inlinable static func startTag(_ bytes: Span<UInt8>, _ position: inout Int,
                                 _ pendingEnd: inout Range<Int>?) throws(XMLError) -> Event {
        let count = bytes.count
        let nameStart = position + 1
        let nameEnd = nameEnd(bytes, from: nameStart)
        var p = nameEnd
        guard nameEnd > nameStart else { throw XMLError.malformed("empty tag name", at: position) }
        // Nearly every tag: `>` right after the name, no attribute to pass over.
        if Bounds.contains(p, count), bytes[p] == UInt8(ascii: ">") {
            position = p &+ 1
            return .start(name: nameStart..<nameEnd)
        }
        // Skip attributes, honouring quotes so a `>` inside a value does not end the tag.
        var quote: UInt8 = 0
        while Bounds.contains(p, count) {
            let b = bytes[p]
            if quote != 0 {
                if b == quote { quote = 0 }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                quote = b
            } else if b == UInt8(ascii: ">") {
                break
            }
            p &+= 1
        }
        guard Bounds.contains(p, count) else { throw XMLError.malformed("truncated start tag", at: position) }
        position = p + 1
        if bytes[p - 1] == UInt8(ascii: "/") && p - 1 >= nameEnd {
            pendingEnd = nameStart..<nameEnd
        }
        return .start(name: nameStart..<nameEnd)
    }

    /// The next child element of `element` (whose start tag was read), or nil at its end tag.
    /// Text between children is ignored; a wrong end tag or the end of the document is an error.
    @inlinable @_spi(Bytes) public mutating func nextChild(of element: Range<Int>) throws(XMLError) -> Range<Int>? {
        while true {
            switch try nextMarkup() {
            case let .start(child): return child
            case .text: continue
            case let .end(name):
                guard sameName(name, element) else { throw XMLError.malformed("mismatched end tag </\(self.name(name))>", at: position) }
                return nil
            case .eof: throw XMLError.malformed("document ends inside <\(self.name(element))>", at: position)
            }
        }
    }

    /// The root element's start tag.
    @inlinable @_spi(Bytes) public mutating func root() throws(XMLError) -> Range<Int> {
        while true {
            switch try nextMarkup() {
            case let .start(name): return name
            case .text: continue
            case .end: throw XMLError.malformed("end tag before any element", at: position)
            case .eof: throw XMLError.malformed("no root element", at: position)
            }
        }
    }

    /// Skips the rest of the element whose start tag was just returned.
    @inlinable @_spi(Bytes) public mutating func skipElement(startName: Range<Int>) throws(XMLError) {
        var depth = 1
        while depth > 0 {
            switch try nextMarkup() {
            case .start: depth += 1
            case .end: depth -= 1
            case .text: continue
            case .eof: throw XMLError.malformed("document ends inside <\(name(startName))>", at: position)
            }
        }
    }

    /// Moves past the first `terminator` at or after `position` (searched from the markup's
    /// `<`, as the scanner always has).
    @inlinable static func skip(_ bytes: Span<UInt8>, past terminator: ByteLiteral, _ position: inout Int) throws(XMLError) {
        guard let at = ByteCursor(at: position).firstIndex(of: terminator, in: bytes) else {
            throw XMLError.malformed("unterminated markup", at: position)
        }
        position = at + terminator.count
    }

    @inline(__always) @inlinable static func isNameEnd(_ b: UInt8) -> Bool {
        ByteCursor.isBlank(b) || b == UInt8(ascii: ">") || b == UInt8(ascii: "/")
    }
}
