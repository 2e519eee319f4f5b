@_spi(Bytes) import AWSCore

/// What the renderer reads values with: no String where none is needed.
extension XMLScanner {
    /// The text content as `readText` reads it, but when it is one run of ASCII with no
    /// entity (nearly every value), only where it lies in `bytes`: the caller copies it from
    /// there without making a String.
    /// Inlined, so that the common answer's empty String costs the caller no release.
    // Gate, 2026-12-08: see XMLScanner.swift: without these two and equal, sameName, plainValueEnd json +4.7%, text +3.5%, csv +3.4%.
    @inline(__always)
    mutating func readTextOrRange(startName: Range<Int>) throws(XMLError) -> (range: Range<Int>?, text: String) {
        if let range = plainValue(startName: startName) { return rangeIfASCII(range) }
        return try readTextOrRangeOfEvents(startName: startName)
    }

    /// `readTextOrRange` for a value `plainValue` does not take: entities, several runs.
    private mutating func readTextOrRangeOfEvents(startName: Range<Int>) throws(XMLError) -> (range: Range<Int>?, text: String) {
        var held: Range<Int>?  // the first run, while it is the only one and plain
        var result: String?
        while true {
            switch try next() {
            case let .text(range, needsDecoding):
                if result == nil, held == nil, !needsDecoding {
                    held = range
                    continue
                }
                if let first = held { result = String(decoding: bytes[first], as: UTF8.self); held = nil }
                let piece = needsDecoding ? try decodeEntities(range) : String(decoding: bytes[range], as: UTF8.self)
                if result == nil { result = piece } else { result! += piece }
            case let .end(name):
                guard sameName(name, startName) else { throw XMLError.malformed("mismatched end tag </\(self.name(name))>", at: position) }
                guard let first = held else { return (nil, result ?? "") }
                return rangeIfASCII(first)
            case let .start(name):
                throw XMLError.malformed("unexpected element <\(self.name(name))> inside a value", at: position)
            case .eof:
                throw XMLError.malformed("document ends inside <\(self.name(startName))>", at: position)
            }
        }
    }

    /// A plain run as `readTextOrRange` answers it: its range when ASCII, else its String.
    @inline(__always)
    private func rangeIfASCII(_ range: Range<Int>) -> (range: Range<Int>?, text: String) {
        // Two returns, not one conditional: inlined, the ASCII answer's "" then needs no release.
        if Word.isASCII(bytes.span, range) { return (range, "") }
        return (nil, String(decoding: bytes[range], as: UTF8.self))
    }

    /// Checks the text content of the element as `readText` reads it (entities, end tag, no
    /// child element), without making a String of it: for values nobody prints.
    mutating func checkText(startName: Range<Int>) throws(XMLError) {
        if plainValue(startName: startName) != nil { return }
        while true {
            switch try next() {
            case let .text(range, needsDecoding):
                if needsDecoding { _ = try decodeEntities(range) }
            case let .end(name):
                guard sameName(name, startName) else { throw XMLError.malformed("mismatched end tag </\(self.name(name))>", at: position) }
                return
            case let .start(name):
                throw XMLError.malformed("unexpected element <\(self.name(name))> inside a value", at: position)
            case .eof:
                throw XMLError.malformed("document ends inside <\(self.name(startName))>", at: position)
            }
        }
    }
}
