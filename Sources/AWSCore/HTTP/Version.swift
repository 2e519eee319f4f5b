/// The program version, shown by `--version`, sent as the User-Agent and stored with each poll.
public enum InventoryVersion {
    public static let current = "0.1.0"
}
