import ArgumentParser
import CloudInventory
import Foundation

/// Options every history subcommand shares.
struct HistoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "format"))
    var format: OutputFormat = .text
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

/// WHEN: an ISO 8601 time, or a duration back from now (`90m`, `24h`, `7d`).
struct When: ExpressibleByArgument, Sendable {
    let date: Date

    init?(argument: String) {
        guard let date = TimeSpec.parse(argument, now: Date()) else { return nil }
        self.date = date
    }

    static var defaultCompletionKind: CompletionKind { .default }
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
