@_spi(Bytes) import AWSCore
import CloudInventory
import Foundation
import Logging

/// The `--check` output: one line per check on stdout, and the status of the first failure.
/// With `--format json` (or ndjson), one JSON document instead, for a deploy script:
/// `{"ok": bool, "checks": [{"name", "status": "ok"|"fail"|"skip", "detail"}]}`.
struct Checklist {
    var out = StandardOutput()
    private(set) var failure: ExitStatus?
    /// The names of the failed checks, in order, for the run's final line.
    private(set) var failed: [String] = []
    /// Set for the JSON form: the checks, written at `finish`.
    private var entries: [JSONValue]?

    init(json: Bool = false) {
        entries = json ? [] : nil
    }

    /// `failing` is the status a failed line gives the run: `ExitStatus(for:)` of its error,
    /// or 4 for a slice's own failure (the assume-role, ec2 and regions lines), as in a poll.
    mutating func line(_ ok: Bool?, _ name: String, _ detail: String, failing status: ExitStatus = .aws) {
        if entries != nil {
            let state = ok == nil ? "skip" : ok! ? "ok" : "fail"
            entries!.append(.object([JSONMember("name", .string(name)), JSONMember("status", .string(state)),
                                     JSONMember("detail", .string(detail))]))
        } else {
            let mark = ok == nil ? "[skip]" : ok! ? "[ok]  " : "[FAIL]"
            out.write("\(mark) \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(detail)\n")
        }
        if ok == false {
            if failure == nil { failure = status }
            if !failed.contains(name) { failed.append(name) }
        }
    }

    /// The run's status once the list is written: the first failure, else lost output (74).
    mutating func finish() -> ExitStatus {
        if let entries {
            out.write(json: .object([JSONMember("ok", .bool(failure == nil)), JSONMember("checks", .array(entries))]), newline: true)
        }
        out.flush()
        return failure ?? (out.failure == nil ? .success : .output)
    }
}

extension InventoryPollerCommand {
    /// `--check`: exit 0 only when all pass. Meant to be run once after a deploy, as the
    /// service user, with the service's environment. It plans the poll with the same
    /// `SlicePlanner` a poll uses, so it checks what a poll would do.
    func runCheck(_ context: RunEnvironment) -> ExitStatus {
        var list = Checklist(json: format == .json || format == .ndjson)
        checkProfile(context, &list)
        let credentials: CredentialChain?
        do {
            credentials = try credentialChain(context)
        } catch {
            list.line(false, "credentials", "\(error)", failing: ExitStatus(for: error))
            credentials = nil
        }
        if let credentials, let planner = checkPlanning(credentials, context, &list) {
            checkAccounts(planner, &list)
        }
        checkDatabase(context, &list)
        let status = list.finish()
        if status != .success, let signal = context.signals.received { return context.stopped(by: signal) }
        if list.out.failure != nil, list.failure == nil {
            StandardError.writeFailure("stdout could not be written (\(list.out.failure!))")
        } else if !list.failed.isEmpty {
            // Like every failing run, one line on stderr: cron mail shows it without stdout.
            let why = format == .json || format == .ndjson ? "the checks with status fail on stdout say why" : "the [FAIL] lines on stdout say why"
            StandardError.writeFailure("check failed: \(list.failed.joined(separator: ", ")) (\(why))")
        }
        return status
    }

    /// Credentials and region: without them nothing else can be checked (nil).
    private func checkPlanning(_ credentials: any CredentialProvider, _ context: RunEnvironment, _ list: inout Checklist) -> SlicePlanner? {
        do {
            let c = try credentials.required()
            list.line(true, "credentials", c.summary)
        } catch {
            list.line(false, "credentials", "\(error)", failing: ExitStatus(for: error))
            return nil
        }
        guard let regions = checkRegionAndEndpoints(context, &list) else { return nil }
        let poller = Poller(configuration: pollerConfiguration(regions: regions, storing: false, aws: context.configuration), credentials: credentials,
                            environment: context.environment, logger: context.logger, run: context.run)
        return SlicePlanner(poller: poller, http: context.http, roleHTTP: context.http)
    }

    /// Identity, each assumed role, then per account: EC2 permission (DryRun) and regions.
    private func checkAccounts(_ planner: SlicePlanner, _ list: inout Checklist) {
        let identity: CallerIdentity
        let accounts: [SlicePlan.Account]
        do {
            identity = try planner.identity()
            list.line(true, "identity", identity.arn)
            let planned = try planner.accountPlan(identity: identity)
            accounts = planned.accounts
            if let listing = planned.organization { list.line(true, "organization", listing.summary) }
        } catch {
            let name = error is OrganizationError ? "organization" : error is AWSError ? "identity" : "assume-role"
            list.line(false, name, "\(error)", failing: ExitStatus(for: error))
            return
        }
        for account in accounts {
            if let arn = account.roleArn {
                list.line(account.failure == nil, "assume-role", "\(arn)" + (account.failure.map { ": \($0)" } ?? Self.expiry(account.expiration)))
            }
        }
        let home = planner.poller.configuration.regions[0]
        for account in accounts where account.failure == nil {
            do {
                try planner.ec2(for: account).canDescribeInstances()
                list.line(true, "ec2", "\(account.id): DescribeInstances allowed in \(home) (DryRun)")
            } catch {
                list.line(false, "ec2", "\(account.id): \(error)")
            }
            checkRegions(planner, account, &list)
        }
    }

    private func checkRegions(_ planner: SlicePlanner, _ account: SlicePlan.Account, _ list: inout Checklist) {
        let (regions, failure) = planner.regions(for: account)
        if let failure { return list.line(false, "regions", "\(account.id): \(failure)") }
        if allRegions { return list.line(true, "regions", "\(account.id): \(regions.count) enabled regions") }
        do {
            let enabled = try planner.enabledRegions(for: account)
            let missing = regions.filter { !enabled.contains($0) }
            list.line(missing.isEmpty, "regions", "\(account.id): " + (missing.isEmpty ? regions.joined(separator: ", ") : "not enabled: \(missing.joined(separator: ", "))"))
        } catch {
            list.line(false, "regions", "\(account.id): \(error)")
        }
    }

    private func checkDatabase(_ context: RunEnvironment, _ list: inout Checklist) {
        let opened: Database?
        do {
            opened = try Database(environment: context.environment, logger: context.logger)
        } catch {
            return list.line(false, "database", error.description, failing: ExitStatus(for: error))
        }
        guard let database = opened else {
            return list.line(nil, "database", "CM_DB_URI and CM_DB_NAME are not set: polls are printed, not stored")
        }
        defer { database.close() }
        do {
            try database.store.ping()
            try database.store.ensureIndexes()
            list.line(true, "database", "\(database.uri.hosts)/\(database.store.database): ping, indexes")
        } catch {
            list.line(false, "database", "\(database.uri.hosts)/\(database.store.database): \(error)", failing: ExitStatus(for: error))
        }
        let spool = database.spoolStatus()
        // A file this user cannot read would never be stored: a failure of the database side (5).
        list.line(spool.ok, "spool", spool.text, failing: .database)
    }

    /// The profile and where its name came from, and whether the shared files define it.
    private func checkProfile(_ context: RunEnvironment, _ list: inout Checklist) {
        let c = context.configuration
        var notes = [c.profileName.source.isDefault ? "none named" : "from \(c.profileName.source)"]
        if !c.profileExists {
            notes.append("defined in neither \(c.shared.configPath) nor \(c.shared.credentialsPath)")
        } else if !CredentialChain.hasCredentialSettings(c.profile) {
            notes.append("no credential settings: the chain goes on to the environment, container and instance credentials")
        }
        list.line(true, "profile", "\(c.profileName.value) (\(notes.joined(separator: "; ")))")
    }

    /// The region with where it came from, then the ec2 and sts endpoints for it (exit 2 for
    /// a malformed endpoint setting). nil when either cannot be resolved.
    private func checkRegionAndEndpoints(_ context: RunEnvironment, _ list: inout Checklist) -> [String]? {
        let regions: [String]
        do {
            let resolved = try RegionResolver.resolve(explicit: region, configuration: context.configuration, imds: context.imds)
            regions = resolved.regions
            list.line(true, "region", "\(regions.joined(separator: ", ")) (from \(resolved.source))")
        } catch {
            list.line(false, "region", error.description, failing: ExitStatus(for: error))
            return nil
        }
        do {
            for endpoint in try plannedEndpoints(context.configuration, region: regions[0]) {
                list.line(true, "endpoint", "\(endpoint.service): \(endpoint.url) (\(endpoint.source); signs for \(endpoint.signingRegion))")
            }
        } catch {
            list.line(false, "endpoint", error.description, failing: ExitStatus(for: error))
            return nil
        }
        return regions
    }

    private static func expiry(_ date: Date?) -> String {
        date.map { " (expires \(UTCTime.iso8601($0)))" } ?? ""
    }
}
