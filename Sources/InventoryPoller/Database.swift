@_spi(Bytes) import AWSCore
import CloudInventory
import Foundation
import Glibc
import Logging

/// The run's database side: `CM_DB_URI`/`CM_DB_NAME`, the store, the spool, and the replay
/// of earlier spooled polls before this one.
final class Database {
    let uri: MongoURI
    let store: InventoryStore
    let spool: Spool
    private let logger: Logger

    /// nil when neither `CM_DB_URI` nor `CM_DB_NAME` is set; a `UsageError` (exit 2) when only
    /// one is, or the URI or the database name is malformed: the operator must fix it.
    init?(environment: Environment, logger: Logger) throws(UsageError) {
        guard let (uri, name) = try Self.settings(environment: environment) else { return nil }
        if Self.readsDeployedFile(environment) {
            logger.info("CM_DB_URI and CM_DB_NAME from \(Self.deployedEnvironmentFile)", metadata: ["database": "\(uri.redacted)"])
        }
        self.uri = uri
        store = InventoryStore(client: try Self.client(uri, logger: logger), database: name, logger: logger)
        var spool = Spool.resolve(environment: environment)
        spool.databaseLabel = "\(uri.hosts)/\(name)"
        self.spool = spool
        self.logger = logger
    }

    /// `--check`'s spool line: how many polls wait, how many of them for another database
    /// (named by hosts and database, never a password), which this URI never replays, and a
    /// failure when one cannot be read by this user (it would never be stored).
    func spoolStatus() -> (ok: Bool?, text: String) {
        let census = spool.census()
        var waiting: [String: Int] = [:]
        for file in spool.pending() {
            guard let header = try? Spool.header(of: file), let database = header.database,
                  !uri.databaseIdentities(store.database).contains(database) else { continue }
            waiting[header.databaseName, default: 0] += 1
        }
        var text = "\(spool.directory.path): \(census.waiting) poll(s) waiting"
        if !waiting.isEmpty {
            text += "; \(waiting.values.reduce(0, +)) of them for another database, never replayed with this CM_DB_URI and CM_DB_NAME ("
                + SpoolReplay.describe(waiting) + ")"
        }
        if let problem = Self.unreadableSpool(census) { return (false, problem) }
        return (census.waiting == 0 ? true : nil, text)
    }

    /// The one line for spool files this user cannot read, if there are any: they would wait
    /// for ever, so the run fails (exit 5) and `--check` fails.
    static func unreadableSpool(_ census: Spool.Census?) -> String? {
        census?.problem(user: DirectoryOwner.name(of: geteuid()))
    }

    /// Where the service's settings live on a deployed host (`deploy/provision.sh` writes it,
    /// 0640 root:inventory-poller). Read when neither `CM_DB_URI` nor `CM_DB_NAME` is set.
    static let deployedEnvironmentFile = "/etc/inventory-poller/env"

    /// `CM_DB_URI` and `CM_DB_NAME`, checked: nil when neither is set (in the environment or
    /// the deployed file), a `UsageError` when only one is, the database name is malformed or
    /// the deployed file is unsafe or malformed. The environment wins: the file is read only
    /// when neither variable is set, and only these two keys are taken from it. The history
    /// subcommands read the same pair.
    static func settings(environment: Environment, deployedFile: String = deployedEnvironmentFile) throws(UsageError) -> (uri: MongoURI, name: String)? {
        if environment["CM_DB_URI"] == nil, environment["CM_DB_NAME"] == nil {
            let values: [String: String]?
            do {
                values = try EnvironmentFile.read(path: deployedFile)
            } catch {
                throw UsageError(error.description)
            }
            guard let values else { return nil }
            return try settings(uri: values["CM_DB_URI"].flatMap { $0.isEmpty ? nil : $0 },
                                name: values["CM_DB_NAME"].flatMap { $0.isEmpty ? nil : $0 }, origin: " in \(deployedFile)")
        }
        return try settings(uri: environment["CM_DB_URI"], name: environment["CM_DB_NAME"], origin: "")
    }

    /// Whether `settings` would take the pair from the deployed file, for the run's log.
    static func readsDeployedFile(_ environment: Environment) -> Bool {
        environment["CM_DB_URI"] == nil && environment["CM_DB_NAME"] == nil
    }

    private static func settings(uri: String?, name: String?, origin: String) throws(UsageError) -> (uri: MongoURI, name: String)? {
        switch (uri, name) {
        case (nil, nil):
            return nil
        case (_?, nil):
            throw UsageError("CM_DB_URI is set but CM_DB_NAME is not\(origin)")
        case (nil, _?):
            throw UsageError("CM_DB_NAME is set but CM_DB_URI is not\(origin)")
        case let (rawURI?, name?):
            guard !name.isEmpty, name.utf8.count < 64, !name.contains(where: { "/\\. \"$\0".contains($0) }) else {
                throw UsageError("CM_DB_NAME \"\(ControlCharacters.escape(name))\"\(origin) is not a valid MongoDB database name")
            }
            return (MongoURI(rawURI), name)
        }
    }

    /// A client for `uri`; a URI libmongoc refuses is the operator's to fix (exit 2).
    static func client(_ uri: MongoURI, logger: Logger) throws(UsageError) -> MongoClient {
        do {
            return try MongoClient(uri: uri, logger: logger)
        } catch {
            throw UsageError(error.description)
        }
    }

    /// Checks the server and replays the spool (stopping between pages when `cancellation`
    /// is set). Returns the recorder for this poll, primed with the failure if the database
    /// is already known to be unusable.
    func prepareRecorder(cancellation: CancellationFlag? = nil, claimWindow: SliceClaims.Configuration? = nil) -> PollRecorder {
        var initialError: MongoError?
        var replay = SpoolReplay.Result()
        do {
            try store.ping()
            try store.ensureIndexes()
            replay = SpoolReplay.run(spool: spool, store: store, logger: logger, cancellation: cancellation)
            if replay.replayed > 0 { logger.notice("spool replayed", metadata: ["polls": "\(replay.replayed)"]) }
            initialError = replay.error
        } catch {
            initialError = error
        }
        if let initialError {
            logger.error("database unavailable; this poll goes to the spool", metadata: ["error": "\(initialError)", "spool": "\(spool.directory.path)"])
        }
        var recorder = PollRecorder(store: store, spool: spool, initialError: initialError, replay: replay, logger: logger)
        recorder.claimWindow = claimWindow
        return recorder
    }

    func close() {
        store.close()
    }
}
