/// Why a response body could not be read. Carries the byte offset, never the body itself,
/// so the message is safe to log.
public struct XMLError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public let offset: Int

    static func malformed(_ reason: String, at offset: Int) -> XMLError {
        XMLError(reason: reason, offset: offset)
    }

    static func tooDeep(at offset: Int) -> XMLError {
        XMLError(reason: "elements nested deeper than \(XMLNode.maximumDepth)", offset: offset)
    }

    public var description: String { "malformed XML at byte \(offset): \(reason)" }
}

/// A small element tree for short documents (errors, STS, IMDS-free bits), built on the scanner.
///
/// Built with an explicit stack and capped in depth: a hostile body of 10,000 nested elements
/// (30 KB) would otherwise overflow a 1 MiB worker stack, in the builder or in the tree's
/// own recursive release. AWS documents are a handful of levels deep.
struct XMLNode: Sendable {
    /// Far beyond any AWS Query document, far below what a small stack can hold.
    static let maximumDepth = 64

    var name: String
    var text: String
    var children: [XMLNode]

    static func parse(_ bytes: [UInt8]) throws(XMLError) -> XMLNode {
        var scanner = XMLScanner(bytes)
        let root = try scanner.root()
        // Open elements, innermost last, each with its start tag's name range.
        var open: [(node: XMLNode, tag: Range<Int>)] = [(XMLNode(name: scanner.name(root), text: "", children: []), root)]
        while true {
            switch try scanner.next() {
            case let .start(tag):
                guard open.count < maximumDepth else { throw XMLError.tooDeep(at: scanner.position) }
                open.append((XMLNode(name: scanner.name(tag), text: "", children: []), tag))
            case let .text(range, needsDecoding):
                let text = needsDecoding ? try scanner.decodeEntities(range) : String(decoding: scanner.bytes[range], as: UTF8.self)
                open[open.count - 1].node.text += text
            case let .end(end):
                let closed = open.removeLast()
                guard scanner.sameName(end, closed.tag) else {
                    throw XMLError.malformed("mismatched end tag </\(scanner.name(end))>", at: scanner.position)
                }
                guard !open.isEmpty else { return closed.node }
                open[open.count - 1].node.children.append(closed.node)
            case .eof:
                throw XMLError.malformed("document ends inside <\(open[open.count - 1].node.name)>", at: scanner.position)
            }
        }
    }

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }

    /// Follows a path of child names: `node["Errors", "Error", "Code"]`.
    subscript(_ path: String...) -> XMLNode? {
        var node: XMLNode? = self
        for name in path { node = node?.child(name) }
        return node
    }
}
