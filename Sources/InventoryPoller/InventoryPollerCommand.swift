@_spi(Bytes) import AWSCore
import ArgumentParser
import CloudInventory
import Foundation
import Glibc
import Logging

/// `inventory-poller poll`, also what runs with no subcommand (`InventoryPoller.defaultSubcommand`),
/// so cron lines written before the command tree keep working.
struct InventoryPollerCommand: StatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Record the AWS account's EC2 inventory: who am I (STS), then every instance in the chosen regions and accounts (the default).",
        discussion: """
        Credentials, in botocore's order: environment keys; an assume-role profile (role_arn with \
        source_profile or credential_source); web identity; SSO (the token `aws sso login` \
        cached); the shared credentials file; credential_process; static keys in the config \
        file; container credentials; the instance role from IMDSv2. A source the profile names \
        that fails is exit 3, never a fall-through.
        Configuration: the AWS SDKs' shared files (~/.aws/config, ~/.aws/credentials; \
        AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) as botocore reads them. Profile: \
        --profile, else AWS_DEFAULT_PROFILE, else AWS_PROFILE, else default; one named but not \
        defined is exit 3. Each setting: flag, else environment, else profile, else default: \
        region (AWS_REGION, AWS_DEFAULT_REGION, region, then the instance's own region), \
        max_attempts, retry_mode (standard, adaptive, legacy), ca_bundle, use_fips_endpoint, \
        use_dualstack_endpoint, sts_regional_endpoints, endpoint_url (AWS_ENDPOINT_URL[_EC2|_STS|...], \
        [services]), ignore_configured_endpoint_urls, IMDS endpoint, mode, timeout and attempts. \
        A malformed value is exit 2. --check and --log-level info say what was resolved and where from.
        Database: CM_DB_URI and CM_DB_NAME; without them the poll is only printed (with a warning); \
        --no-store prints only, even with them set (no database, no spool). \
        CM_SPOOL_DIR holds polls the database could not take.
        Results go to stdout, in the plan's order (accounts, then regions as given); csv cells \
        starting with =, +, -, @, tab or CR get a leading ' (--csv-raw: as received). Logs and \
        the run summary go to stderr, every line starting with its UTC time and with control \
        characters escaped; the summary is one JSON line, or a line in words when stderr is a \
        terminal. --check --format json prints the checklist as one JSON document.
        --region and --assume-role are checked before any network call; two roles in one \
        account are a usage error.

        Example: inventory-poller poll --region eu-west-1,us-east-1 --format csv

        Exit codes:
        \(ExitStatus.table)
        """
    )

    @Option(name: .long, help: ArgumentHelp("Region to poll; repeat or comma-separate for several.", valueName: "region"),
            completion: .list(RegionName.known))
    var region: [String] = []

    @Flag(name: .long, help: "Poll every region enabled for the account (DescribeRegions).")
    var allRegions = false

    @Option(name: .long, help: ArgumentHelp("Role to assume in another account; repeat for several.", valueName: "arn"))
    var assumeRole: [String] = []

    @Option(name: .long, help: ArgumentHelp("External ID for --assume-role or --org-role.", valueName: "id"))
    var externalId: String?

    @OptionGroup var organization: OrganizationOptions

    @Option(name: .long, help: ArgumentHelp("Slices (account, region) polled at once.", valueName: "n"))
    var concurrency: Int = 8

    @Option(name: .long, help: ArgumentHelp("Output format.", valueName: "format"))
    var format: OutputFormat = .text

    @Flag(name: .long, help: "csv cells exactly as received: no leading ' before a cell that starts with =, +, -, @, tab or CR.")
    var csvRaw = false

    @Flag(name: .long, help: "Poll and print only: no database and no spool, even with CM_DB_URI and CM_DB_NAME set.")
    var noStore = false

    @Option(name: .long, help: ArgumentHelp("Log level on stderr.", valueName: "level"))
    var logLevel: LogLevel = .notice

    @OptionGroup var selectionOptions: SelectionOptions

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

    @OptionGroup var schedule: ScheduleOptions

    @Flag(name: .long, help: "Preflight: check credentials, identity, EC2 permission, regions and the database; print a checklist.")
    var check = false

    mutating func validate() throws {
        if let maxAttempts, !AWSConfiguration.maxAttemptsRange.contains(maxAttempts) {
            throw ValidationError("--max-attempts must be between 1 and \(AWSConfiguration.maxAttemptsRange.upperBound)")
        }
        guard (5...1000).contains(pageSize) else { throw ValidationError("--page-size must be between 5 and 1000") }
        guard (1...1024).contains(maxResponseMib) else { throw ValidationError("--max-response-mib must be between 1 and 1024") }
        guard (1...64).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 64") }
        guard lockWait >= 0 else { throw ValidationError("--lock-wait must not be negative") }
        try organization.validate(assumeRole: assumeRole, externalId: externalId)
        do {
            _ = try RegionResolver.explicit(region)
        } catch {
            throw ValidationError(error.description)
        }
        try RoleARN.validate(assumeRole)
    }
}
