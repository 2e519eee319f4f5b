import AWSCore
import ArgumentParser
import CloudInventory

/// Checks on the raw arguments, before argument-parser sees them.
///
/// `help SUBCOMMAND`: argument-parser's built-in `help` skips a name it does not know and
/// prints the root's help with exit 0, so `help bogus` would look like an answer. The first
/// name after `help` must be a subcommand, else a usage error (exit 2, one line) naming the
/// subcommands there are.
///
/// `--output`/`-o` (the AWS CLI's and kubectl's spelling) is a usage error that names
/// `--format`, rather than argument-parser's bare "Unknown option".
///
/// The root's `--help` (and `help` alone) shows the poll's options after the root's: the poll
/// is what runs with no subcommand, so its options are the ones a first reader needs.
enum HelpTopic {
    static func check(_ arguments: [String], subcommands: [String]) throws {
        try outputOption(arguments)
        if arguments == ["--help"] || arguments == ["-h"] || arguments == ["help"] {
            throw CleanExit.message(rootHelp())
        }
        guard arguments.first == "help", let name = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }),
              !subcommands.contains(name) else { return }
        let shown = ControlCharacters.escape(String(name.prefix(40)))
        throw ValidationError("help: no subcommand \"\(shown)\"; there are \(subcommands.joined(separator: ", "))")
    }

    static func outputOption(_ arguments: [String]) throws {
        for argument in arguments.prefix(while: { $0 != "--" }) {
            let isOutput = argument == "--output" || argument.hasPrefix("--output=")
                || argument == "-o" || (argument.hasPrefix("-o") && !argument.hasPrefix("--"))
            if isOutput {
                throw ValidationError("there is no \(argument.hasPrefix("--") ? "--output" : "-o"): the output format is --format "
                    + "(text, json, ndjson, csv), e.g. --format json")
            }
        }
    }

    /// The root's help, then the poll's options under their own heading.
    static func rootHelp() -> String {
        let root = InventoryPoller.helpMessage()
        let poll = InventoryPollerCommand.helpMessage()
        guard let start = poll.range(of: "OPTIONS:") else { return root }
        return root + "\n\nPOLL OPTIONS (inventory-poller [poll] [options], the default subcommand):"
            + poll[start.upperBound...]
    }
}
