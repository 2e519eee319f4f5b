@_spi(Bytes) import AWSCore

/// The AWS CLI's shorthand for one DescribeInstances filter, as `aws ec2 describe-instances
/// --filters` takes it:
///
///     Name=tag:env,Values=prod,staging
///     Name=instance-state-name,Values=running
///     Name=tag:Name,Values=[web-1,web-2]
///     Name=tag:note,Values="a,b",'c d'
///
/// After `Values=` every comma-separated item is a value until an item that starts a new
/// `key=` (as the CLI reads it); brackets group a list explicitly; single or double quotes keep
/// commas, brackets and `=` literal (a backslash escapes the next character inside double
/// quotes). Keys are the CLI's: `Name` and `Values`, case-sensitive, each exactly once.
///
/// The parser is total: any string gives a filter or a `FilterShorthand.Error` naming the
/// problem, and its work is linear in the input.
public enum FilterShorthand {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Longest filter name or value EC2 is sent; real ones are far shorter.
    public static let maximumLength = 1024

    public static func parse(_ text: String) throws(Error) -> PollSelection.Filter {
        var name: String?
        var values: [String]?
        for (key, items) in try pairs(Array(text.unicodeScalars)) {
            switch key {
            case "Name":
                guard name == nil else { throw Error("Name given twice") }
                guard items.count == 1 else { throw Error("Name takes one value (got \(items.count))") }
                name = items[0]
            case "Values":
                guard values == nil else { throw Error("Values given twice") }
                values = items
            default:
                throw Error("unknown key \"\(key)\" (expected Name and Values)")
            }
        }
        guard let name else { throw Error("no Name= (expected Name=NAME,Values=V1,V2)") }
        guard let values else { throw Error("no Values= (expected Name=NAME,Values=V1,V2)") }
        guard !name.isEmpty else { throw Error("empty Name") }
        guard !values.isEmpty else { throw Error("Values is empty") }
        guard values.count <= PollSelection.maximumValues else { throw Error("more than \(PollSelection.maximumValues) values") }
        for item in [name] + values {
            guard item.utf8.count <= maximumLength else { throw Error("a name or value is longer than \(maximumLength) bytes") }
            guard !item.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
                throw Error("control character in a name or value")
            }
        }
        return PollSelection.Filter(name: name, values: values)
    }

    /// `key=item,item,...` groups in order.
    private static func pairs(_ s: [Unicode.Scalar]) throws(Error) -> [(String, [String])] {
        guard !s.isEmpty else { throw Error("empty filter (expected Name=NAME,Values=V1,V2)") }
        var result: [(String, [String])] = []
        var i = 0
        while i < s.count {
            guard let key = keyAt(s, i) else {
                throw Error("expected key= at character \(i + 1) (expected Name=NAME,Values=V1,V2)")
            }
            i += key.unicodeScalars.count + 1
            var items: [String] = []
            if i < s.count, s[i] == "[" {
                (items, i) = try bracketList(s, from: i + 1)
                if i < s.count {
                    guard s[i] == "," else { throw Error("expected , after ] at character \(i + 1)") }
                    i += 1
                    guard i < s.count else { throw Error("trailing comma") }
                }
            } else {
                while true {
                    let (item, end) = try value(s, from: i, stops: [","])
                    items.append(item)
                    i = end
                    guard i < s.count else { break }
                    i += 1  // the comma
                    guard i < s.count else { throw Error("trailing comma") }
                    if keyAt(s, i) != nil { break }
                }
            }
            result.append((key, items))
        }
        return result
    }

    /// The key starting at `i` when the text there is `key=` (the CLI's key characters).
    private static func keyAt(_ s: [Unicode.Scalar], _ i: Int) -> String? {
        var j = i
        while j < s.count, isKeyCharacter(s[j]) { j += 1 }
        guard j > i, j < s.count, s[j] == "=" else { return nil }
        return String(String.UnicodeScalarView(s[i..<j]))
    }

    private static func isKeyCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || "-_.#/:".unicodeScalars.contains(c)
    }

    /// `[a,b,...]`, from just after the `[`; returns the index after the `]`.
    private static func bracketList(_ s: [Unicode.Scalar], from start: Int) throws(Error) -> ([String], Int) {
        var items: [String] = []
        var i = start
        if i < s.count, s[i] == "]" { return ([], i + 1) }
        while true {
            let (item, end) = try value(s, from: i, stops: [",", "]"])
            items.append(item)
            guard end < s.count else { throw Error("unclosed [") }
            i = end + 1
            if s[end] == "]" { return (items, i) }
        }
    }

    /// One value from `start` up to (not including) a stop character outside quotes.
    private static func value(_ s: [Unicode.Scalar], from start: Int, stops: Set<Unicode.Scalar>) throws(Error) -> (String, Int) {
        var out = String.UnicodeScalarView()
        var i = start
        while i < s.count, !stops.contains(s[i]) {
            let c = s[i]
            if c == "\"" || c == "'" {
                i += 1
                while true {
                    guard i < s.count else { throw Error("unclosed \(c) quote") }
                    if s[i] == c { break }
                    if c == "\"", s[i] == "\\" {
                        i += 1
                        guard i < s.count else { throw Error("unclosed \(c) quote") }
                    }
                    out.append(s[i])
                    i += 1
                }
                i += 1
            } else if c == "[" || c == "]" {
                throw Error("unexpected \(c) at character \(i + 1) (quote it to use it in a value)")
            } else {
                out.append(c)
                i += 1
            }
        }
        return (String(out), i)
    }
}

/// `--instance-ids` items: `i-` and 8 or 17 lowercase hex digits, as EC2 issues them.
public enum InstanceIdList {
    public static func parse(_ arguments: [String]) throws(FilterShorthand.Error) -> [String] {
        var ids: [String] = []
        var seen = Set<String>()
        for argument in arguments {
            for item in argument.split(separator: ",", omittingEmptySubsequences: false) {
                let id = String(item)
                guard isValid(id) else {
                    throw FilterShorthand.Error("\"\(ControlCharacters.escape(String(id.prefix(40))))\" is not an instance id (i- and 8 or 17 hex digits)")
                }
                if seen.insert(id).inserted { ids.append(id) }
            }
        }
        guard ids.count <= PollSelection.maximumInstanceIds else {
            throw FilterShorthand.Error("more than \(PollSelection.maximumInstanceIds) instance ids")
        }
        return ids
    }

    static func isValid(_ id: String) -> Bool {
        let utf8 = Array(id.utf8)
        guard utf8.count == 10 || utf8.count == 19, utf8.starts(with: Array("i-".utf8)) else { return false }
        return utf8.dropFirst(2).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }
}
