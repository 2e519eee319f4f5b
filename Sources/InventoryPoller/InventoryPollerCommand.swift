import ArgumentParser
import CloudInventory
import Foundation
import Glibc
import Logging

@main
struct InventoryPollerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory-poller",
        abstract: "Record the AWS account's EC2 inventory: who am I (STS), then every instance in the chosen regions and accounts.",
        discussion: """
        Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN when set, \
        else the instance role from IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT overrides the \
        endpoint, AWS_EC2_METADATA_DISABLED=true turns it off).
        Configuration: the AWS SDKs' shared files (~/.aws/config, ~/.aws/credentials; \
        AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) as botocore reads them. Profile: \
        --profile, else AWS_DEFAULT_PROFILE, else AWS_PROFILE, else default; one named but not \
        defined is exit 3. Each setting: flag, else environment, else profile, else default: \
        region (AWS_REGION, AWS_DEFAULT_REGION, region, then the instance's own region), \
        max_attempts, retry_mode (standard, adaptive, legacy), ca_bundle, use_fips_endpoint, \
        use_dualstack_endpoint, sts_regional_endpoints, endpoint_url (AWS_ENDPOINT_URL[_EC2|_STS|...], \
        [services]), ignore_configured_endpoint_urls, IMDS endpoint, mode, timeout and attempts. \
        A malformed value is exit 2. --check and --log-level info say what was resolved and where from.
        Database: CM_DB_URI and CM_DB_NAME; without them the poll is only printed (with a warning). \
        CM_SPOOL_DIR holds polls the database could not take.
        Results go to stdout; logs, and a one-line JSON run summary, go to stderr, every line \
        starting with its UTC time and with control characters escaped.
        --region and --assume-role are checked before any network call; two roles in one \
        account are a usage error.

        Exit codes:
        \(ExitStatus.table)
        """,
        version: InventoryVersion.current
    )

    @Option(name: .long, help: ArgumentHelp("Region to poll; repeat or comma-separate for several.", valueName: "region"))
    var region: [String] = []

    @Flag(name: .long, help: "Poll every region enabled for the account (DescribeRegions).")
    var allRegions = false

    @Option(name: .long, help: ArgumentHelp("Role to assume in another account; repeat for several.", valueName: "arn"))
    var assumeRole: [String] = []

    @Option(name: .long, help: ArgumentHelp("External ID for --assume-role.", valueName: "id"))
    var externalId: String?

    @Option(name: .long, help: ArgumentHelp("Slices (account, region) polled at once.", valueName: "n"))
    var concurrency: Int = 8

    @Option(name: .long, help: ArgumentHelp("Output format: text, json or ndjson.", valueName: "format"))
    var format: String = "text"

    @Option(name: .long, help: ArgumentHelp("Log level on stderr: trace, debug, info, notice, warning, error, critical.", valueName: "level"))
    var logLevel: String = "notice"

    @Option(name: .long, help: ArgumentHelp("Attempts per AWS request, retries included (else AWS_MAX_ATTEMPTS, the profile's max_attempts, 3).", valueName: "n"))
    var maxAttempts: Int?

    @Option(name: .long, help: ArgumentHelp("DescribeInstances page size, 5 to 1000.", valueName: "n"))
    var pageSize: Int = 1000

    @Option(name: .long, help: ArgumentHelp("Largest AWS response body taken, in MiB (1 to 1024); a larger one fails its slice.", valueName: "mib"))
    var maxResponseMib: Int = HTTPRequest.defaultMaxResponseBytes >> 20

    @Option(name: .long, help: ArgumentHelp("Overlap lock (default /run/lock/inventory-poller.lock, or the user's runtime directory).", valueName: "path"))
    var lockFile: String?

    @Option(name: .long, help: ArgumentHelp("Wait up to this long for a running poll to finish instead of exiting 75.", valueName: "seconds"))
    var lockWait: Double = 0

    @Option(name: .long, help: ArgumentHelp("Write Prometheus textfile-collector metrics here, atomically.", valueName: "path"))
    var metricsFile: String?

    @OptionGroup var awsOptions: ConfigurationOptions

    @Flag(name: .long, help: "Preflight: check credentials, identity, EC2 permission, regions and the database; print a checklist.")
    var check = false

    mutating func validate() throws {
        guard OutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be one of text, json, ndjson (got \"\(format)\")")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got \"\(logLevel)\")")
        }
        if let maxAttempts, !AWSConfiguration.maxAttemptsRange.contains(maxAttempts) {
            throw ValidationError("--max-attempts must be between 1 and \(AWSConfiguration.maxAttemptsRange.upperBound)")
        }
        guard (5...1000).contains(pageSize) else { throw ValidationError("--page-size must be between 5 and 1000") }
        guard (1...1024).contains(maxResponseMib) else { throw ValidationError("--max-response-mib must be between 1 and 1024") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        guard lockWait >= 0 else { throw ValidationError("--lock-wait must not be negative") }
        if externalId != nil && assumeRole.isEmpty { throw ValidationError("--external-id needs --assume-role") }
        do {
            _ = try RegionResolver.explicit(region)
        } catch {
            throw ValidationError(error.description)
        }
        try RoleARN.validate(assumeRole)
    }

    static func main() {
        _ = HTTPClient.globalInitialization  // before any thread exists
        // A closed stdout (`| head`) must arrive as EPIPE from write(2), not kill the run
        // before it stores its poll: see StandardOutput.
        signal(SIGPIPE, SIG_IGN)
        let status: ExitStatus
        do {
            var command = try parseAsRoot()
            if let poller = command as? InventoryPollerCommand {
                status = poller.execute()
            } else {
                try command.run()
                status = .success
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            let message = self.message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "invalid arguments"
            StandardError.writeFailure(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        Foundation.exit(status.rawValue)
    }
}
