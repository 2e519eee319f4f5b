/// One parsed AWS shared file (`~/.aws/config` or `~/.aws/credentials`), read the way
/// botocore reads it: Python's `RawConfigParser` (strict, `=` or `:`, full-line `#`/`;`
/// comments, indented continuation lines, a `[DEFAULT]` section that every section inherits,
/// option names lower-cased, section names kept) and then botocore's own step that turns an
/// option whose value starts on the next line into a nested sub-section (`s3 =` followed by
/// indented `key = value` lines). Any line botocore would refuse makes the whole file
/// malformed, as it does there: a half-read file would resolve a different identity.
public struct SharedConfigFile: Sendable, Equatable {
    /// Section names in file order (a repeated name is an error, so each appears once).
    public internal(set) var sectionNames: [String] = []
    public internal(set) var sections: [String: ConfigSection] = [:]

    public init() {}

    /// The largest file read. Real files are a few KiB; this keeps a planted huge file from
    /// costing more than a bounded amount of memory.
    public static let maxBytes = 4 << 20

    public subscript(section: String) -> ConfigSection? { sections[section] }

    /// Parses the file's bytes. `path` names the file in errors only.
    public static func parse(_ bytes: [UInt8], path: String) throws(SharedConfigError) -> SharedConfigFile {
        guard bytes.count <= maxBytes else { throw .tooLarge(path: path, limit: maxBytes) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .malformed(path: path, line: 0, "not valid UTF-8") }
        var reader = RawReader(path: path)
        for (index, line) in Self.lines(text).enumerated() {
            try reader.read(line, number: index + 1)
        }
        return try reader.finish()
    }

    /// Python's universal newlines: `\n`, `\r\n` and a lone `\r` all end a line.
    static func lines(_ text: String) -> [Substring] {
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
    }
}

/// One section: plain settings, and the nested sub-sections botocore builds from indented
/// blocks (`[services x]` → `ec2 = ↵ endpoint_url = …`). A key is in one of the two.
public struct ConfigSection: Sendable, Equatable {
    /// Option names lower-cased, values stripped (multi-line values joined with `\n`).
    public var settings: [String: String] = [:]
    /// Nested keys are kept as written (botocore does not lower-case them).
    public var subsections: [String: [String: String]] = [:]

    public init(settings: [String: String] = [:], subsections: [String: [String: String]] = [:]) {
        self.settings = settings
        self.subsections = subsections
    }

    public subscript(key: String) -> String? { settings[key] }

    /// `update` in botocore's sense: the other section's keys win.
    public mutating func merge(_ other: ConfigSection) {
        for (key, value) in other.settings {
            settings[key] = value
            subsections[key] = nil
        }
        for (key, value) in other.subsections {
            subsections[key] = value
            settings[key] = nil
        }
    }
}

/// Why a shared file could not be used. Always names the file, and the line where there is one;
/// never quotes a value (it may be a secret key).
public struct SharedConfigError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable { case malformed, tooLarge, unreadable }
    private let code: Code
    public let path: String
    public let line: Int
    private let reason: String

    private init(_ code: Code, path: String, line: Int, reason: String) {
        self.code = code
        self.path = path
        self.line = line
        self.reason = reason
    }

    public static func malformed(path: String, line: Int, _ reason: String) -> SharedConfigError {
        SharedConfigError(.malformed, path: path, line: line, reason: reason)
    }

    public static func tooLarge(path: String, limit: Int) -> SharedConfigError {
        SharedConfigError(.tooLarge, path: path, line: 0, reason: "larger than \(limit >> 20) MiB")
    }

    public static func unreadable(path: String, _ reason: String) -> SharedConfigError {
        SharedConfigError(.unreadable, path: path, line: 0, reason: reason)
    }

    public var description: String {
        let place = line > 0 ? "\(path) line \(line)" : path
        switch code {
        case .malformed: return "AWS shared file \(place) is malformed: \(reason)"
        case .tooLarge: return "AWS shared file \(place) is \(reason)"
        case .unreadable: return "AWS shared file \(place) cannot be read: \(reason)"
        }
    }
}
