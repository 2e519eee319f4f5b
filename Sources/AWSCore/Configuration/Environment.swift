import Foundation

/// Process environment as a value, so every lookup in the library can be driven by a test
/// without touching the real environment.
public struct Environment: Sendable {
    public var values: [String: String]

    public init(_ values: [String: String]) {
        self.values = values
    }

    public static var process: Environment { Environment(ProcessInfo.processInfo.environment) }

    /// The value, with empty strings treated as unset (as the AWS SDKs do).
    public subscript(_ name: String) -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        return v
    }

    public func isTrue(_ name: String) -> Bool {
        self[name]?.lowercased() == "true"
    }
}
