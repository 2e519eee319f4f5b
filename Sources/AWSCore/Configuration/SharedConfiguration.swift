import Foundation

/// The two AWS shared files of a run, read once, and the maps botocore builds from them:
/// profiles (`[default]`, `[profile NAME]`), `[sso-session NAME]` and `[services NAME]` from
/// the config file, and the credentials file's `[NAME]` sections. A missing file is empty, as
/// in botocore; a malformed one is an error (exit 2), never half-read.
public struct SharedConfiguration: Sendable {
    /// Where the files were looked for: `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`
    /// (with `~` and `$VAR` expanded) or `~/.aws/config` / `~/.aws/credentials`.
    public var configPath: String
    public var credentialsPath: String
    /// The config file's profiles, by name.
    public var configProfiles: [String: ConfigSection] = [:]
    /// The credentials file's sections, by name (no `profile ` prefix there).
    public var credentialsProfiles: [String: ConfigSection] = [:]
    public var ssoSessions: [String: ConfigSection] = [:]
    public var services: [String: ConfigSection] = [:]

    public init(configPath: String, credentialsPath: String) {
        self.configPath = configPath
        self.credentialsPath = credentialsPath
    }

    /// A profile as botocore's `full_config` sees it: the config file's section updated by the
    /// credentials file's section of the same name. Used for settings and assume-role chains.
    public func profile(_ name: String) -> ConfigSection? {
        let fromConfig = configProfiles[name]
        guard let fromCredentials = credentialsProfiles[name] else { return fromConfig }
        var merged = fromConfig ?? ConfigSection()
        merged.merge(fromCredentials)
        return merged
    }

    /// Every profile name either file defines.
    public var profileNames: Set<String> { Set(configProfiles.keys).union(credentialsProfiles.keys) }

    /// Reads both files named by the environment. Unreadable or absent files count as empty
    /// (botocore skips them); `warnings` says which existed but could not be read.
    public static func load(environment: Environment) throws(SharedConfigError) -> (SharedConfiguration, warnings: [String]) {
        // Set but empty names no file (botocore reads nothing then), not the default path.
        var configuration = SharedConfiguration(
            configPath: path(environment.values["AWS_CONFIG_FILE"] ?? "~/.aws/config", environment: environment),
            credentialsPath: path(environment.values["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials", environment: environment))
        var warnings: [String] = []
        if let file = try read(configuration.configPath, warnings: &warnings) {
            configuration.takeConfigFile(file)
        }
        if let file = try read(configuration.credentialsPath, warnings: &warnings) {
            for name in file.sectionNames { configuration.credentialsProfiles[name] = file[name] }
        }
        return (configuration, warnings)
    }

    /// botocore's `build_profile_map`: `profile X`, `sso-session X` and `services X` are split
    /// shell-style and need exactly two words; `default` is a profile; anything else is ignored.
    /// Later sections win, so `[profile default]` after `[default]` replaces it.
    mutating func takeConfigFile(_ file: SharedConfigFile) {
        for name in file.sectionNames {
            let section = file[name]!
            if name.hasPrefix("profile") {
                if let n = Self.secondWord(name) { configProfiles[n] = section }
            } else if name.hasPrefix("sso-session") {
                if let n = Self.secondWord(name) { ssoSessions[n] = section }
            } else if name.hasPrefix("services") {
                if let n = Self.secondWord(name) { services[n] = section }
            } else if name == "default" {
                configProfiles["default"] = section
            }
        }
    }

    static func secondWord(_ header: String) -> String? {
        guard let words = ShellWords.split(header), words.count == 2 else { return nil }
        return words[1]
    }

    /// The file's parsed contents; nil when it is absent, not a regular file, or unreadable.
    /// Read through `SafeFile`: the type is checked on the descriptor opened without blocking,
    /// so a FIFO swapped in after any check can never hold the run in `open`.
    private static func read(_ path: String, warnings: inout [String]) throws(SharedConfigError) -> SharedConfigFile? {
        let bytes: [UInt8]
        do {
            bytes = try SafeFile.read(path, maximumBytes: SharedConfigFile.maxBytes)
        } catch {
            switch error.code {
            case .missing, .notRegular: return nil
            case .tooLarge: throw .tooLarge(path: path, limit: SharedConfigFile.maxBytes)
            case .unreadable:
                warnings.append("AWS shared file \(path) exists but cannot be read; it is ignored, as the AWS CLI does")
                return nil
            }
        }
        return try SharedConfigFile.parse(bytes, path: path)
    }

    /// Python's `expanduser(expandvars(path))`: `$NAME` and `${NAME}` from the environment
    /// (unknown ones left as written), then a leading `~` as `$HOME`.
    public static func path(_ raw: String, environment: Environment) -> String {
        var expanded = ""
        var rest = Substring(raw)
        while let dollar = rest.firstIndex(of: "$") {
            expanded += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            let (name, tail, braced) = variable(after)
            if let name, let value = environment.values[name] {
                expanded += value
                rest = tail
            } else {
                expanded += "$"
                rest = after
                _ = braced
            }
        }
        expanded += rest
        if expanded == "~" || expanded.hasPrefix("~/"), let home = environment["HOME"] {
            expanded = home + expanded.dropFirst()
        }
        return expanded
    }

    private static func variable(_ s: Substring) -> (String?, Substring, Bool) {
        let isName: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
        if s.first == "{", let close = s.firstIndex(of: "}") {
            let name = s[s.index(after: s.startIndex)..<close]
            return (name.isEmpty ? nil : String(name), s[s.index(after: close)...], true)
        }
        let name = s.prefix(while: isName)
        return (name.isEmpty ? nil : String(name), s.dropFirst(name.count), false)
    }
}

/// Python's `shlex.split` (POSIX mode, no comments), for section headers such as
/// `[profile "my team"]`. nil where shlex raises (an open quote, a trailing backslash).
enum ShellWords {
    static func split(_ text: String) -> [String]? {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for c in text {
            if escaped {
                if quote == "\"", !"\\\"$`\n".contains(c) { word.append("\\") }
                word.append(c)
                escaped = false
            } else if c == "\\" && quote != "'" {
                escaped = true
                inWord = true
            } else if let q = quote {
                if c == q { quote = nil } else { word.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
                inWord = true
            } else if c == " " || c == "\t" || c == "\n" || c == "\r" {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(c)
                inWord = true
            }
        }
        guard quote == nil, !escaped else { return nil }
        if inWord { words.append(word) }
        return words
    }
}
