import AWSCore
import CloudInventory
import Foundation

/// The profile names the shared files define, for completing `--profile`: `[default]` and
/// `[profile NAME]` of the config file, `[NAME]` of the credentials file (the files
/// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` name). A completion must never fail or
/// hang, so an unreadable, odd or huge file gives what could be read, else nothing; files over
/// 1 MiB or not regular are skipped (`SafeFile`).
enum ProfileNames {
    static func all(environment: Environment) -> [String] {
        let config = SharedConfiguration.path(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config", environment: environment)
        let credentials = SharedConfiguration.path(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials",
                                                   environment: environment)
        var names = Set(sections(config).compactMap { section -> String? in
            if section == "default" { return section }
            let words = section.split(separator: " ", maxSplits: 1)
            guard words.count == 2, words[0] == "profile" else { return nil }
            return words[1].trimmingCharacters(in: .whitespaces)
        })
        names.formUnion(sections(credentials))
        return names.filter { !$0.isEmpty && !$0.contains(where: \.isWhitespace) }.sorted()
    }

    /// The `[...]` headers of an INI file.
    static func sections(_ path: String) -> [String] {
        guard let bytes = try? SafeFile.read(path, maximumBytes: 1 << 20) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("["), let close = trimmed.firstIndex(of: "]") else { return nil }
            return trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmingCharacters(in: .whitespaces)
        }
    }
}
