import CloudInventory
import Foundation
import Logging

extension InventoryPollerCommand {
    /// `--check`: one line per check on stdout, exit 0 only when all pass. Meant to be run
    /// once after a deploy, as the service user, with the service's environment.
    func runCheck(_ context: RunEnvironment) -> ExitStatus {
        var out = StandardOutput()
        var failure: ExitStatus?
        func line(_ ok: Bool?, _ name: String, _ detail: String, failing status: ExitStatus = .aws) {
            let mark = ok == nil ? "[skip]" : ok! ? "[ok]  " : "[FAIL]"
            out.write("\(mark) \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(detail)\n")
            if ok == false, failure == nil { failure = status }
        }
        defer { out.flush() }
        let environment = context.environment
        let logger = context.logger

        let credentials = CredentialChain.standard(environment: environment, imds: context.imds)
        do {
            guard let c = try credentials.credentials() else { throw CredentialError("no credentials") }
            line(true, "credentials", c.source + (c.expiration.map { " (expires \(UTCTime.iso8601($0)))" } ?? ""))
        } catch {
            line(false, "credentials", "\(error)", failing: .credentials)
            return failure!
        }

        let regions: [String]
        do {
            regions = try RegionResolver.resolve(explicit: region, environment: environment, imds: context.imds)
        } catch {
            line(false, "region", error.description, failing: .usage)
            return failure!
        }
        let home = regions[0]
        let poller = Poller(configuration: .init(regions: regions), credentials: credentials, environment: environment, logger: logger, run: context.run)
        let identity: CallerIdentity
        do {
            identity = try STSClient(query: poller.client(service: "sts", region: home, apiVersion: STSClient.apiVersion,
                                                          credentials: credentials, account: "", http: context.http)).getCallerIdentity()
            line(true, "identity", identity.arn)
        } catch {
            line(false, "identity", "\(error)")
            return failure!
        }

        var accounts: [(String, any CredentialProvider)] = [(identity.account, credentials)]
        if !assumeRole.isEmpty {
            accounts = []
            let sts = poller.client(service: "sts", region: home, apiVersion: STSClient.apiVersion, credentials: credentials,
                                    account: identity.account, http: context.http)
            for arn in assumeRole {
                do {
                    let provider = try AssumeRoleCredentialProvider(roleArn: arn, externalId: externalId,
                                                                    sessionName: AssumeRoleCredentialProvider.sessionName(host: ProcessInfo.processInfo.hostName), sts: sts)
                    let c = try provider.credentials()
                    line(true, "assume-role", "\(arn)" + (c?.expiration.map { " (expires \(UTCTime.iso8601($0)))" } ?? ""))
                    accounts.append((provider.account, provider))
                } catch {
                    line(false, "assume-role", "\(arn): \(error)")
                }
            }
        }

        for (account, provider) in accounts {
            let ec2 = EC2Client(query: poller.client(service: "ec2", region: home, apiVersion: EC2Client.apiVersion,
                                                     credentials: provider, account: account, http: context.http))
            do {
                try ec2.canDescribeInstances()
                line(true, "ec2", "\(account): DescribeInstances allowed in \(home) (DryRun)")
            } catch {
                line(false, "ec2", "\(account): \(error)")
            }
            do {
                let enabled = try ec2.describeRegions().filter(\.isEnabled).map(\.name)
                if allRegions {
                    line(true, "regions", "\(account): \(enabled.count) enabled regions")
                } else {
                    let missing = regions.filter { !enabled.contains($0) }
                    line(missing.isEmpty, "regions", "\(account): " + (missing.isEmpty ? regions.joined(separator: ", ") : "not enabled: \(missing.joined(separator: ", "))"))
                }
            } catch {
                line(false, "regions", "\(account): \(error)")
            }
        }

        switch Database.open(environment: environment, logger: logger) {
        case let .failure(error):
            line(false, "database", error.description, failing: .usage)
        case .success(nil):
            line(nil, "database", "CM_DB_URI and CM_DB_NAME are not set: polls are printed, not stored")
        case let .success(database?):
            do {
                try database.store.ping()
                try database.store.ensureIndexes()
                line(true, "database", "\(database.uri.hosts)/\(database.store.database): ping, indexes")
            } catch {
                line(false, "database", "\(database.uri.hosts)/\(database.store.database): \(error)", failing: .database)
            }
            let pending = database.spool.pending().count
            line(pending == 0 ? true : nil, "spool", "\(database.spool.directory.path): \(pending) poll(s) waiting")
            database.close()
        }
        return failure ?? .success
    }
}
