import ArgumentParser
import CloudInventory

/// `inventory-poller help SUBCOMMAND`: argument-parser's built-in `help` skips a name it does
/// not know and prints the root's help with exit 0, so `help bogus` would look like an
/// answer. Checked before parsing: the first name after `help` must be a subcommand, else a
/// usage error (exit 2, one line) naming the subcommands there are.
enum HelpTopic {
    static func check(_ arguments: [String], subcommands: [String]) throws {
        guard arguments.first == "help", let name = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }),
              !subcommands.contains(name) else { return }
        let shown = ControlCharacters.escape(String(name.prefix(40)))
        throw ValidationError("help: no subcommand \"\(shown)\"; there are \(subcommands.joined(separator: ", "))")
    }
}
