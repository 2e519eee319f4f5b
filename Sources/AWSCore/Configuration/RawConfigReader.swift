/// The line-by-line state machine of Python's `RawConfigParser._read` with botocore's
/// settings (strict, delimiters `=` and `:`, full-line comments `#` and `;`, empty lines kept
/// inside values), followed by botocore's nested-value step. Kept apart from the model so the
/// rules sit in one place.
struct RawReader {
    let path: String
    private var order: [String] = []
    private var raw: [String: [(String, [String])]] = [:]
    private var defaults: [(String, [String])] = []
    /// The section being filled: a name, or `defaultSection`.
    private var current: String?
    private var option: String?
    private var indent = 0
    private var seenOptions: Set<String> = []
    private var firstError: SharedConfigError?

    static let defaultSection = "DEFAULT"

    init(path: String) { self.path = path }

    mutating func read(_ line: Substring, number: Int) throws(SharedConfigError) {
        let isComment = line.trimmed.hasPrefix("#") || line.trimmed.hasPrefix(";")
        let value = isComment ? "" : line.trimmed
        if value.isEmpty {
            // A blank line belongs to the value above it (joined, then trailing ones stripped);
            // a comment line is dropped and does not end the value.
            if !isComment, current != nil, let option { append("", to: option) }
            return
        }
        let level = line.prefix(while: \.isWhitespace).count
        if current != nil, let option, level > indent {
            append(String(value), to: option)
            return
        }
        indent = level
        if let name = Self.sectionHeader(value) {
            try open(section: name, line: number)
        } else if current == nil {
            throw .malformed(path: path, line: number, "a setting before the first [section]")
        } else if let (name, rest) = Self.optionLine(value) {
            try set(option: name, value: rest, line: number)
        } else {
            // Python reads on and raises the first error at the end; the outcome is the same.
            if firstError == nil { firstError = .malformed(path: path, line: number, "a line that is neither [section] nor key = value") }
            option = nil
        }
    }

    /// `[` then the longest run up to the last `]` (Python's greedy `\[(?P<header>.+)\]`,
    /// matched at the start and not anchored at the end).
    static func sectionHeader(_ value: Substring) -> String? {
        guard value.first == "[", let close = value.lastIndex(of: "]") else { return nil }
        let inner = value[value.index(after: value.startIndex)..<close]
        return inner.isEmpty ? nil : String(inner)
    }

    /// The name up to the first `=` or `:`, and the value after it, both stripped.
    static func optionLine(_ value: Substring) -> (String, String)? {
        guard let split = value.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return nil }
        return (String(value[..<split].trimmed), String(value[value.index(after: split)...].trimmed))
    }

    private mutating func open(section name: String, line: Int) throws(SharedConfigError) {
        option = nil
        if name == Self.defaultSection {
            current = name
            return
        }
        if raw[name] != nil { throw .malformed(path: path, line: line, "section [\(name)] appears twice") }
        raw[name] = []
        order.append(name)
        current = name
    }

    private mutating func set(option name: String, value: String, line: Int) throws(SharedConfigError) {
        guard !name.isEmpty else {
            if firstError == nil { firstError = .malformed(path: path, line: line, "a setting with no name") }
            option = nil
            return
        }
        let key = name.lowercased()
        let section = current!
        guard seenOptions.insert(section + "\u{0}" + key).inserted else {
            throw .malformed(path: path, line: line, "setting \(key) appears twice in [\(section)]")
        }
        mutate(section) { $0.append((key, [value])) }
        option = key
    }

    private mutating func append(_ text: String, to key: String) {
        mutate(current!) { entries in
            if let i = entries.lastIndex(where: { $0.0 == key }) { entries[i].1.append(text) }
        }
    }

    private mutating func mutate(_ section: String, _ body: (inout [(String, [String])]) -> Void) {
        if section == Self.defaultSection { body(&defaults) } else { body(&raw[section, default: []]) }
    }

    /// Joins multi-line values, applies `[DEFAULT]`, and turns values that start on the next
    /// line into nested sub-sections (botocore's `_parse_nested`: `key = value` lines only).
    func finish() throws(SharedConfigError) -> SharedConfigFile {
        if let firstError { throw firstError }
        var file = SharedConfigFile()
        for name in order {
            var section = ConfigSection()
            for (key, lines) in defaults + raw[name, default: []] {
                let joined = Self.join(lines)
                if joined.hasPrefix("\n") {
                    section.subsections[key] = try nested(joined, key: key, section: name)
                    section.settings[key] = nil
                } else {
                    section.settings[key] = joined
                    section.subsections[key] = nil
                }
            }
            file.add(name, section)
        }
        return file
    }

    /// Python's `'\n'.join(lines).rstrip()`.
    static func join(_ lines: [String]) -> String {
        var joined = lines.joined(separator: "\n")
        while let last = joined.last, last.isWhitespace { joined.removeLast() }
        return joined
    }

    private func nested(_ value: String, key: String, section: String) throws(SharedConfigError) -> [String: String] {
        var result: [String: String] = [:]
        for line in value.split(separator: "\n") {
            let text = line.trimmed
            if text.isEmpty { continue }
            guard let eq = text.firstIndex(of: "=") else {
                throw .malformed(path: path, line: 0, "nested setting under \(key) in [\(section)] has no '='")
            }
            result[String(text[..<eq].trimmed)] = String(text[text.index(after: eq)...].trimmed)
        }
        return result
    }
}

extension SharedConfigFile {
    mutating func add(_ name: String, _ section: ConfigSection) {
        if sections[name] == nil { sectionNames.append(name) }
        sections[name] = section
    }
}

extension Substring {
    /// Python's `str.strip()`: Unicode whitespace at both ends.
    var trimmed: Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
