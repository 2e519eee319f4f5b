/// The envelope of a Query-protocol response (EC2, STS), checked before anything reads it.
///
/// Only a response of the operation that was asked counts as a success: its root element is
/// `<{Action}Response>`, in the service model's namespace or in none. Anything else that comes
/// with a 2xx status (an error document, a captive portal's HTML page, another operation's
/// answer, an empty body) would otherwise read as an empty result, and an empty
/// DescribeInstances would mark a whole region vanished. Every reader here streams over
/// `XMLScanner` with no recursion and constant memory, whatever the nesting of the body.
package enum QueryResponse {
    /// Throws unless `body` is a response to `action`: an error document's own code (a 200
    /// `<Response><Errors>` is EC2's error), or `malformed` for anything else.
    package static func verify(_ response: HTTPResponse, action: String, namespace: String?, operation: String) throws(AWSError) {
        let expected = action + "Response"
        var scanner = XMLScanner(response.body)
        let root: Range<Int>
        do {
            root = try scanner.root()
        } catch {
            throw AWSError.malformed(operation, "expected <\(expected)>: \(error)")
        }
        let name = scanner.name(root)
        if name == expected {
            let attributes = scanner.bytes[root.upperBound..<(scanner.position - 1)]
            if let found = xmlns(in: attributes), let namespace, trimmed(found) != trimmed(namespace),
               !EC2Namespace.sameFamily(found, namespace) {
                throw AWSError.malformed(operation, "<\(expected)> in namespace \"\(found.prefix(100))\", expected \"\(namespace)\"")
            }
            if try leadsWithAnError(&scanner, root: root, operation: operation) {
                throw error(from: response, operation: operation)
            }
            return
        }
        if name == "Response" || name == "ErrorResponse", errorDocument(response.body)?.code != nil {
            throw error(from: response, operation: operation)
        }
        throw AWSError.malformed(operation, "expected <\(expected)>, got <\(name.prefix(64))>")
    }

    /// Whether an `<Errors>` or `<Error>` child stands before the result: an error document
    /// under the right root is still an error. Only the leading children are looked at (the
    /// request id, then the result), so a large page is not scanned twice.
    private static func leadsWithAnError(_ scanner: inout XMLScanner, root: Range<Int>, operation: String) throws(AWSError) -> Bool {
        do {
            while let child = try scanner.nextChild(of: root) {
                if scanner.name(child, equals: "Errors") || scanner.name(child, equals: "Error") { return true }
                guard scanner.name(child, equals: "requestId") || scanner.name(child, equals: "RequestId")
                    || scanner.name(child, equals: "RequestID") else { return false }
                try scanner.skipElement(startName: child)
            }
        } catch {
            throw AWSError.malformed(operation, "\(error)")
        }
        return false
    }

    /// The error a failed response carries. A body without a code becomes `HTTP<status>`.
    package static func error(from response: HTTPResponse, operation: String) -> AWSError {
        let requestIdHeader = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        guard let found = errorDocument(response.body) else {
            return .service(operation, code: "HTTP\(response.status)", message: "HTTP \(response.status) with an unreadable body",
                            requestId: requestIdHeader, status: response.status)
        }
        return .service(operation, code: found.code ?? "HTTP\(response.status)", message: found.message ?? "HTTP \(response.status)",
                        requestId: found.requestId ?? requestIdHeader, status: response.status)
    }

    /// EC2 errors are `Response/Errors/Error/{Code,Message}` + `RequestID`; STS and the other
    /// Query services use `ErrorResponse/Error/{Code,Message}` + `RequestId`. Nil when the body
    /// is not XML. Lenient: text nested inside a message is ignored, not an error.
    private static func errorDocument(_ body: [UInt8]) -> (code: String?, message: String?, requestId: String?)? {
        let paths = [["Errors", "Error", "Code"], ["Errors", "Error", "Message"], ["Error", "Code"], ["Error", "Message"],
                     ["RequestID"], ["RequestId"]]
        guard let v = try? fields(body, paths, lenient: true).values else { return nil }
        return (v[0] ?? v[2], v[1] ?? v[3], v[4] ?? v[5])
    }

    /// The text of the first element at each path below the root (`["Errors", "Error", "Code"]`),
    /// nil where there is none. Reads the whole document, so a truncated one is an error, and
    /// so is an element inside a value read (unless `lenient`: then only its own text counts).
    package static func fields(_ body: [UInt8], _ paths: [[String]], lenient: Bool = false) throws(XMLError) -> (root: String, values: [String?]) {
        var scanner = XMLScanner(body)
        let root = try scanner.root()
        let paths = paths.map { $0.map { Array($0.utf8) } }
        let tracked = (paths.map(\.count).max() ?? 0) + 1
        var open: [Range<Int>] = [root]   // the first `tracked` open elements; deeper ones are only counted
        var depth = 1
        var values = [String?](repeating: nil, count: paths.count)
        var reading: [Int] = []           // paths whose element is open at `depth`
        while depth > 0 {
            switch try scanner.next() {
            case let .start(name):
                if !lenient, let i = reading.first, depth == paths[i].count + 1 {
                    throw XMLError.malformed("unexpected element <\(scanner.name(name).prefix(64))> inside a value", at: scanner.position)
                }
                depth += 1
                guard depth <= tracked else { continue }
                open.append(name)
                reading = paths.indices.filter { i in
                    values[i] == nil && paths[i].count == depth - 1
                        && paths[i].indices.allSatisfy { j in scanner.equal(open[j + 1], paths[i][j]) }
                }
                for i in reading { values[i] = "" }
            case let .text(range, needsDecoding):
                guard !reading.isEmpty, depth == paths[reading[0]].count + 1 else { continue }
                let text = needsDecoding ? try scanner.decodeEntities(range) : scanner.name(range)
                for i in reading { values[i]! += text }
            case let .end(name):
                if depth <= tracked {
                    guard scanner.sameName(name, open[depth - 1]) else {
                        throw XMLError.malformed("mismatched end tag </\(scanner.name(name).prefix(64))>", at: scanner.position)
                    }
                    open.removeLast()
                    reading = []
                }
                depth -= 1
            case .eof:
                throw XMLError.malformed("document ends inside <\(scanner.name(root).prefix(64))>", at: scanner.position)
            }
        }
        return (scanner.name(root), values)
    }

    /// The value of the `xmlns` attribute in a start tag's attribute bytes, if any.
    private static func xmlns(in attributes: ArraySlice<UInt8>) -> String? {
        var text = Substring(String(decoding: attributes, as: UTF8.self))
        while let range = text.range(of: "xmlns") {
            var rest = text[range.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
            let boundary = range.lowerBound == text.startIndex || text[text.index(before: range.lowerBound)].isWhitespace
            if boundary, rest.first == "=" {
                rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
                guard let quote = rest.first, quote == "\"" || quote == "'" else { return "" }
                return String(rest.dropFirst().prefix { $0 != quote })
            }
            text = text[range.upperBound...]
        }
        return nil
    }

    private static func trimmed(_ namespace: String) -> String {
        namespace.hasSuffix("/") ? String(namespace.dropLast()) : namespace
    }
}
