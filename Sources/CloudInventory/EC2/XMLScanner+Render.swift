/// What the renderer reads values with: no String where none is needed.
extension XMLScanner {
    /// The text content as `readText` reads it, but when it is one run of ASCII with no
    /// entity (nearly every value), only where it lies in `bytes`: the caller copies it from
    /// there without making a String.
    mutating func readTextOrRange(startName: Range<Int>) throws(XMLError) -> (range: Range<Int>?, text: String) {
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
                let ascii = bytes.withUnsafeBufferPointer { Self.isASCII(UnsafeBufferPointer(rebasing: $0[first])) }
                return ascii ? (first, "") : (nil, String(decoding: bytes[first], as: UTF8.self))
            case let .start(name):
                throw XMLError.malformed("unexpected element <\(self.name(name))> inside a value", at: position)
            case .eof:
                throw XMLError.malformed("document ends inside <\(self.name(startName))>", at: position)
            }
        }
    }

    /// Checks the text content of the element as `readText` reads it (entities, end tag, no
    /// child element), without making a String of it: for values nobody prints.
    mutating func checkText(startName: Range<Int>) throws(XMLError) {
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

    /// Eight bytes at a time.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var i = 0, high: UInt64 = 0
        while i + 8 <= bytes.count {
            high |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < bytes.count {
            high |= UInt64(base[i])
            i += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }
}
