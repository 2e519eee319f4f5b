/// Reading an element's text content (scalar values).
extension XMLScanner {
    /// Reads the text content of the element whose start tag was just returned, through its
    /// end tag. Child elements are an error: callers use this only for scalar shapes.
    @inlinable @_spi(Bytes) public mutating func readText(startName: Range<Int>) throws(XMLError) -> String {
        if let range = plainValue(startName: startName) { return String(decoding: bytes[range], as: UTF8.self) }
        // Nearly every value is one text run: it becomes the String itself, with no append.
        var result: String?
        while true {
            switch try next() {
            case let .text(range, needsDecoding):
                let piece = needsDecoding ? try decodeEntities(range) : String(decoding: bytes[range], as: UTF8.self)
                if result == nil { result = piece } else { result! += piece }
            case let .end(name):
                guard sameName(name, startName) else { throw XMLError.malformed("mismatched end tag </\(self.name(name))>", at: position) }
                return result ?? ""
            case let .start(name):
                throw XMLError.malformed("unexpected element <\(self.name(name))> inside a value", at: position)
            case .eof:
                throw XMLError.malformed("document ends inside <\(self.name(startName))>", at: position)
            }
        }
    }

    @inlinable @_spi(Bytes) public func decodeEntities(_ range: Range<Int>) throws(XMLError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let b = bytes[i]
            guard b == UInt8(ascii: "&") else { out.append(b); i += 1; continue }
            var j = i + 1
            while j < range.upperBound, bytes[j] != UInt8(ascii: ";"), j - i < 12 { j += 1 }
            guard j < range.upperBound, bytes[j] == UInt8(ascii: ";") else {
                throw XMLError.malformed("unterminated entity", at: i)
            }
            let entity = bytes[(i + 1)..<j]
            switch String(decoding: entity, as: UTF8.self) {
            case "amp": out.append(UInt8(ascii: "&"))
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            case let ref where ref.hasPrefix("#"):
                let digits = ref.dropFirst()
                let value = digits.hasPrefix("x") || digits.hasPrefix("X")
                    ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
                guard let value, let scalar = Unicode.Scalar(value) else {
                    throw XMLError.malformed("bad character reference &\(ref);", at: i)
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            case let other:
                throw XMLError.malformed("unknown entity &\(other);", at: i)
            }
            i = j + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
