/// Reads one setting the SDKs' way: the environment variable, else the profile's key, else
/// the default, and checks its value. A value that is set but unusable is an error naming the
/// variable or the profile key, never a silent default: a typo in `use_fips_endpoint` must
/// not send a FIPS-bound workload to the ordinary endpoint.
struct SettingReader {
    let environment: Environment
    let profileName: String
    let profile: ConfigSection

    /// The raw text and its source, environment first. Empty values count as unset.
    func raw(env: String?, key: String) -> (String, ConfigSource)? {
        if let env, let value = environment[env] { return (value, .environment(env)) }
        if let value = profile[key], !value.isEmpty { return (value, .profile(profileName, key: key)) }
        return nil
    }

    func string(env: String, key: String) -> Setting<String>? {
        raw(env: env, key: key).map { Setting($0.0, $0.1) }
    }

    /// `true` or `false`, any case. (botocore's `ensure_boolean` reads anything else as
    /// false; here it is an error, so a typo is caught.)
    func boolean(env: String, key: String) throws(ConfigurationError) -> Setting<Bool> {
        guard let (text, source) = raw(env: env, key: key) else { return Setting(false, .defaultValue) }
        switch text.lowercased() {
        case "true": return Setting(true, source)
        case "false": return Setting(false, source)
        default: throw .setting(source, text, expected: "true or false")
        }
    }

    /// A decimal integer in `range` (Python's `int()`: surrounding blanks and a sign allowed).
    func integer(env: String, key: String, range: ClosedRange<Int>, default value: Int) throws(ConfigurationError) -> Setting<Int> {
        guard let (text, source) = raw(env: env, key: key) else { return Setting(value, .defaultValue) }
        guard let number = Self.decimal(text), range.contains(number) else {
            throw .setting(source, text, expected: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Setting(number, source)
    }

    /// Seconds, more than 0 and at most 60 (botocore takes whole seconds; a fraction is
    /// accepted here too).
    func seconds(env: String, key: String, default value: Double) throws(ConfigurationError) -> Setting<Double> {
        guard let (text, source) = raw(env: env, key: key) else { return Setting(value, .defaultValue) }
        let trimmed = Substring(text).trimmed
        guard trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let number = Double(trimmed), number > 0, number <= 60 else {
            throw .setting(source, text, expected: "a number of seconds, more than 0 and at most 60")
        }
        return Setting(number, source)
    }

    func choice<T: RawRepresentable & CaseIterable & Sendable>(env: String, key: String, default value: T,
                                                                caseSensitive: Bool) throws(ConfigurationError) -> Setting<T> where T.RawValue == String {
        guard let (text, source) = raw(env: env, key: key) else { return Setting(value, .defaultValue) }
        guard let chosen = T(rawValue: caseSensitive ? text : text.lowercased()) else {
            throw .setting(source, text, expected: "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return Setting(chosen, source)
    }

    /// `AWS_REGION` first (the other SDKs' order; botocore reads only `AWS_DEFAULT_REGION`),
    /// then `AWS_DEFAULT_REGION`, then the profile's `region`. Checked as a region name.
    func region() throws(ConfigurationError) -> Setting<String>? {
        var found = raw(env: "AWS_REGION", key: "") ?? raw(env: "AWS_DEFAULT_REGION", key: "region")
        // botocore takes a set but empty AWS_DEFAULT_REGION as the region "", and fails on it.
        if found?.1 != .environment("AWS_REGION"), environment.values["AWS_DEFAULT_REGION"] == "" {
            found = ("", .environment("AWS_DEFAULT_REGION"))
        }
        guard let (text, source) = found else { return nil }
        guard RegionName.isValid(text) else { throw .setting(source, text, expected: "an AWS region name (e.g. us-east-1)") }
        return Setting(text, source)
    }

    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` / `ec2_metadata_service_endpoint`: an http(s) URL
    /// (botocore's `is_valid_uri`), kept without trailing slashes.
    func imdsEndpoint() throws(ConfigurationError) -> Setting<String>? {
        guard let (text, source) = raw(env: "AWS_EC2_METADATA_SERVICE_ENDPOINT", key: "ec2_metadata_service_endpoint") else { return nil }
        guard let parts = try? URLParts(text), parts.scheme == "http" || parts.scheme == "https", !parts.host.isEmpty else {
            throw .setting(source, text, expected: "an http:// URL such as http://169.254.169.254")
        }
        var url = text
        while url.hasSuffix("/") { url.removeLast() }
        return Setting(url, source)
    }

    static func decimal(_ text: String) -> Int? {
        var digits = Substring(text).trimmed
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        return negative ? -n : n
    }
}
