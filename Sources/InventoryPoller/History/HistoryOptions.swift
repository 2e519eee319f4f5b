import AWSCore
import ArgumentParser
import CloudInventory
import Foundation

/// Options every history subcommand shares.
struct HistoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "format"))
    var format: OutputFormat = .text

    @Flag(name: .long, help: "csv cells exactly as stored: no leading ' before a cell that starts with =, +, -, @, tab or CR.")
    var csvRaw = false
}

/// EC2's instance state names, for `--state`.
enum InstanceStateName: String, CaseIterable, ExpressibleByArgument {
    case pending, running, stopping, stopped
    case shuttingDown = "shutting-down"
    case terminated
}

/// The stored event types, for `--type`.
enum EventTypeName: String, CaseIterable, ExpressibleByArgument {
    case appeared
    case stateChanged = "state_changed"
    case changed, vanished, reappeared
}

/// Which instances `instances` lists: present ones (the default), vanished ones, or both.
enum Presence: String, EnumerableFlag {
    case present, vanished, all

    static func help(for value: Presence) -> ArgumentHelp? {
        switch value {
        case .present: return "Only instances present at the latest poll of their region (the default)."
        case .vanished: return "Only instances that vanished."
        case .all: return "Present and vanished instances."
        }
    }
}

/// `--tag KEY=VALUE` (the tag has that value) or `--tag KEY` (the tag exists, any value).
struct TagFilter: ExpressibleByArgument, Sendable {
    let key: String
    let value: String?

    init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        if let eq = argument.firstIndex(of: "=") {
            key = String(argument[..<eq])
            value = String(argument[argument.index(after: eq)...])
        } else {
            key = argument
            value = nil
        }
        guard !key.isEmpty else { return nil }
    }
}

/// WHEN: an ISO 8601 time or date, or a duration back from now (`90m`, `24h`, `7d`). A
/// duration is kept as such until `date(now:)`, so every WHEN of one command counts back
/// from the same instant.
struct When: Sendable {
    let value: TimeSpec.Value

    func date(now: Date) -> Date { value.date(now: now) }

    /// For `@Option(transform:)`: the refusal names the accepted forms (argument-parser adds
    /// "The value 'X' is invalid for '--since <when>': " before it).
    static func parse(_ text: String) throws -> When {
        When(value: try TimeSpec.value(text))
    }

    /// The help line of a WHEN option: what it means, then every form taken.
    static func help(_ meaning: String) -> ArgumentHelp {
        ArgumentHelp("\(meaning) \(TimeSpec.forms).", valueName: "when")
    }
}

/// The checks on the `--region`, `--account` and `--instance-id` values of `instances` and
/// `changes` (region and id lists may be comma-separated), and on `history`'s argument: the
/// poll's own rules, so a value that can never match anything stored (`--account abc`, a
/// regex) is a usage error, not an empty answer.
enum HistoryFilters {
    static func validate(regions: [String], accounts: [String], instanceIds: [String]) throws {
        do {
            _ = try RegionResolver.explicit(regions)
        } catch {
            throw ValidationError(error.description.hasPrefix("--region") ? error.description : "--region: \(error)")
        }
        if let bad = accounts.first(where: { !OrganizationsClient.isAccountId($0) }) {
            throw ValidationError("--account \"\(ControlCharacters.escape(String(bad.prefix(40))))\" is not an account id (12 digits)")
        }
        do {
            _ = try InstanceIdList.parse(instanceIds)
        } catch {
            throw ValidationError("--instance-id: \(error)")
        }
    }

    /// One instance id, `i-` and 8 or 17 hex digits (`InstanceIdList`, as `--instance-ids`).
    static func instanceId(_ id: String, _ name: String) throws {
        let parsed: [String]
        do {
            parsed = try InstanceIdList.parse([id])
        } catch {
            throw ValidationError("\(name): \(error)")
        }
        // `history` shows one instance: a comma list is refused.
        guard parsed == [id] else {
            throw ValidationError("\(name): \"\(ControlCharacters.escape(String(id.prefix(40))))\" is not one instance id (i- and 8 or 17 hex digits)")
        }
    }

    /// `--region` values, comma lists split, as the poll takes them.
    static func regions(_ values: [String]) -> [String] {
        (try? RegionResolver.explicit(values)) ?? values
    }

    /// `--instance-id` values, comma lists split, as the poll's `--instance-ids`.
    static func instanceIds(_ values: [String]) -> [String] {
        (try? InstanceIdList.parse(values)) ?? values
    }
}

extension Presence {
    var selection: InstanceSelection.Presence {
        switch self {
        case .present: return .present
        case .vanished: return .vanished
        case .all: return .all
        }
    }
}
