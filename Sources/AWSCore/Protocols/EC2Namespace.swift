/// EC2's XML namespaces: `http://ec2.amazonaws.com/doc/<API version>/`. EC2 (and the
/// endpoints in front of it: regions still on an older API, proxies, emulators) may answer a
/// DescribeInstances of version 2016-11-15 under another version's namespace
/// (`.../doc/2014-06-15/`); botocore reads such an answer, so it is accepted here too. A
/// foreign namespace, or a wrong root, is still refused by `QueryResponse.verify`.
enum EC2Namespace {
    static let prefix = "http://ec2.amazonaws.com/doc/"

    /// Whether `found` and `expected` are both EC2 namespaces of some API version: a
    /// non-empty version of letters, digits, `-` and `.`, with or without the trailing `/`.
    static func sameFamily(_ found: String, _ expected: String) -> Bool {
        isEC2(expected) && isEC2(found)
    }

    static func isEC2(_ namespace: String) -> Bool {
        guard namespace.hasPrefix(prefix) else { return false }
        var version = namespace.dropFirst(prefix.count)
        if version.hasSuffix("/") { version = version.dropLast() }
        return !version.isEmpty && version.count <= 32
            && version.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || (48...57).contains($0)
                || (97...122).contains($0) || (65...90).contains($0) }
    }
}
