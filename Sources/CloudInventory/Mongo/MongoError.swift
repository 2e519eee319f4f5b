import CMongoC

/// One error type for everything the database can do wrong, told apart the way an operator
/// acts on it: fix the URI, wait for the network, or look at what the server refused.
/// A struct over a private code, so a new kind of failure never breaks a caller's `switch`.
public struct MongoError: Error, Sendable, CustomStringConvertible {
    private enum Category: Sendable, Equatable {
        case badURI, unreachable, rejected, unreadable, contended
    }

    private let category: Category
    /// Already redacted: never holds the URI's password.
    public let message: String
    /// libmongoc's error domain and code (0 when the error is the wrapper's own).
    public let domain: UInt32
    public let code: UInt32

    /// The URI does not parse or names an option wrongly. Exit 2.
    public static func badURI(_ message: String) -> MongoError { MongoError(.badURI, message) }
    /// No server answered, or the connection broke. Transient: the poll goes to the spool.
    public static func unreachable(_ message: String) -> MongoError { MongoError(.unreachable, message) }
    /// The server answered and said no. Also spooled.
    public static func rejected(_ message: String) -> MongoError { MongoError(.rejected, message) }

    /// The server answered with a document the client cannot read (a type or a nesting it
    /// never writes). Not the spooled poll's fault, so a replay stops as for an outage, and
    /// the poll is spooled: nothing is lost, and nothing is guessed from a partial read.
    public static func unreadable(_ message: String) -> MongoError { MongoError(.unreadable, message) }

    /// Other writers kept changing the same documents while this one re-read and retried.
    /// Transient, like an outage: the poll goes to the spool and a later replay settles it.
    public static func contended(_ message: String) -> MongoError { MongoError(.contended, message) }

    public var isBadURI: Bool { category == .badURI }
    /// A failure of the path to the server, not of what was sent: retrying later may work.
    public var isUnreachable: Bool { category == .unreachable }
    /// The server refused the request itself.
    public var isRejected: Bool { category == .rejected }
    /// The server refused the *data* (a write or validation error), so sending the same
    /// documents again will fail again. Authentication failures are not: they refuse
    /// everything, and are fixed by the operator, not by setting a spool file aside.
    public var isPermanent: Bool {
        category == .rejected && domain != MONGOC_ERROR_CLIENT.rawValue && !Self.refusesEverything.contains(code)
    }

    /// Server codes that refuse any request, whatever it holds: authorization, shutdown,
    /// a primary stepping down. A spool file is never blamed for these.
    static let refusesEverything: Set<UInt32> = [13, 18, 91, 189, 10107, 11600, 11602, 13435, 13436]

    public var description: String {
        switch category {
        case .badURI: return "bad database URI: \(message)"
        case .unreachable: return "database unreachable: \(message)"
        case .rejected: return "database rejected the request: \(message)"
        case .unreadable: return "database reply unreadable: \(message)"
        case .contended: return "database writes contended: \(message)"
        }
    }

    private init(_ category: Category, _ message: String, domain: UInt32 = 0, code: UInt32 = 0) {
        self.category = category
        self.message = message
        self.domain = domain
        self.code = code
    }

    /// libmongoc's error, classified, with its message passed through `redactor`.
    init(_ error: bson_error_t, redactor: MongoURI.Redactor) {
        var e = error
        let message = unsafe withUnsafeBytes(of: &e.message) { raw in
            unsafe String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        let category: Category
        switch error.domain {
        case MONGOC_ERROR_STREAM.rawValue, MONGOC_ERROR_SERVER_SELECTION.rawValue, MONGOC_ERROR_PROTOCOL.rawValue:
            category = .unreachable
        case MONGOC_ERROR_CLIENT.rawValue where error.code != MONGOC_ERROR_CLIENT_AUTHENTICATE.rawValue:
            category = .unreachable
        default:
            category = .rejected
        }
        self.init(category, redactor.redact(message), domain: error.domain, code: error.code)
    }

    /// The same error with `context` (already redacted) appended to its message.
    func adding(_ context: String) -> MongoError {
        MongoError(category, message + context, domain: domain, code: code)
    }
}
