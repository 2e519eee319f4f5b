import CloudInventory
import Foundation
import Logging

/// The run's database side: `CM_DB_URI`/`CM_DB_NAME`, the client, the spool, and the replay
/// of earlier spooled polls before this one.
final class Database {
    let uri: MongoURI
    let store: InventoryStore
    let spool: Spool
    private let logger: Logger

    enum Opened {
        case success(Database?)
        case failure(String)
    }

    /// nil when neither variable is set; a usage error when only one is, or the URI or the
    /// database name is malformed.
    static func open(environment: Environment, logger: Logger) -> Opened {
        let rawURI = environment["CM_DB_URI"]
        let name = environment["CM_DB_NAME"]
        switch (rawURI, name) {
        case (nil, nil):
            return .success(nil)
        case (_?, nil):
            return .failure("CM_DB_URI is set but CM_DB_NAME is not")
        case (nil, _?):
            return .failure("CM_DB_NAME is set but CM_DB_URI is not")
        case let (rawURI?, name?):
            guard name.count < 64, !name.contains(where: { "/\\. \"$\0".contains($0) }) else {
                return .failure("CM_DB_NAME \"\(name)\" is not a valid MongoDB database name")
            }
            let uri = MongoURI(rawURI)
            do {
                let client = try MongoClient(uri: uri, logger: logger)
                return .success(Database(uri: uri, store: InventoryStore(client: client, database: name, logger: logger),
                                         spool: Spool.resolve(environment: environment), logger: logger))
            } catch {
                return .failure(error.description)
            }
        }
    }

    private init(uri: MongoURI, store: InventoryStore, spool: Spool, logger: Logger) {
        self.uri = uri
        self.store = store
        self.spool = spool
        self.logger = logger
    }

    /// Checks the server and replays the spool. Returns the recorder for this poll, primed
    /// with the failure if the database is already known to be unusable.
    func prepareRecorder() -> PollRecorder {
        var initialError: MongoError?
        do {
            try store.ping()
            try store.ensureIndexes()
            let (replayed, error) = PollRecorder.replay(spool: spool, store: store, logger: logger)
            if replayed > 0 { logger.notice("spool replayed", metadata: ["polls": "\(replayed)"]) }
            initialError = error
        } catch {
            initialError = error
        }
        if let initialError {
            logger.error("database unavailable; this poll goes to the spool", metadata: ["error": "\(initialError)", "spool": "\(spool.directory.path)"])
        }
        return PollRecorder(store: store, spool: spool, initialError: initialError, logger: logger)
    }

    func close() {
        store.client.close()
        MongoRuntime.cleanup()
    }
}
