import ArgumentParser
import CloudInventory
import Foundation

/// `inventory-poller history INSTANCE-ID`: one instance's whole timeline.
struct HistoryCommand: StatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show one instance's timeline: appeared, state changes, field changes, vanished, reappeared.",
        discussion: """
        Reads CM_DB_URI and CM_DB_NAME (exit 2 without them, 5 when the database cannot be read).
        The text form ends with the instance's current stored state.

        Example:
          inventory-poller history i-0123456789abcdef0
        """
    )

    @OptionGroup var options: HistoryOptions

    @Argument(help: ArgumentHelp("The instance id.", valueName: "instance-id"))
    var instanceId: String

    func execute() -> ExitStatus {
        .success
    }
}
