import AWSCore

/// The parsers of outside data, as libFuzzer targets (`Sources/InventoryFuzz`, `make fuzz`).
///
/// Each target takes arbitrary bytes and must return: throwing is the parser doing its job,
/// a trap or a sanitizer report is the bug being hunted. SPI, so the harness can reach
/// internal decoders without making them public API.
///
/// To add a target: add one entry to `targets` below (name, a sensible `-max_len`, and a
/// closure that feeds the bytes to the parser), and put a few seed inputs under
/// `Tests/Fuzz/corpus/<name>/`. `make fuzz` runs every entry; nothing else needs to change.
@_spi(Fuzzing) public enum FuzzEntryPoints {
    public struct Target: Sendable {
        public let name: String
        /// The longest input worth trying: bounded so a run explores structure, not size.
        public let maxLength: Int
        public let run: @Sendable ([UInt8]) -> Void
    }

    public static let targets: [Target] = [
        Target(name: "xml-query", maxLength: 4096, run: xmlQuery),
        Target(name: "xml-instances", maxLength: 16384) { _ = try? EC2Client.decodeInstancesPage($0, region: "us-east-1") },
        Target(name: "xml-render", maxLength: 16384) {
            _ = try? ShapeDecoder.renderInstancesPage($0, region: "us-east-1", contents: [.json, .rows, .hashes])
            _ = try? ShapeDecoder.renderInstancesPage($0, region: "us-east-1", contents: [.rows])
            _ = try? ShapeDecoder.renderInstancesPage($0, region: "us-east-1", contents: [.json])
        },
        Target(name: "xml-regions", maxLength: 4096, run: xmlRegions),
        Target(name: "json", maxLength: 4096, run: json),
        Target(name: "bson", maxLength: 4096, run: bson),
        Target(name: "spool", maxLength: 8192) { _ = try? Spool.parse($0) },
        Target(name: "spool-page", maxLength: 8192, run: spoolPage),
        Target(name: "mongo-uri", maxLength: 512, run: mongoURI),
        Target(name: "filter-shorthand", maxLength: 512, run: filterShorthand),
        Target(name: "env-file", maxLength: 2048) { _ = try? EnvironmentFile.parse($0) },
    ]

    public static func target(named name: String) -> Target? {
        targets.first { $0.name == name }
    }

    /// The Query-response readers, through the paths that feed them server bodies: the
    /// envelope check, error replies, and the field reads of STS-style documents.
    static func xmlQuery(_ bytes: [UInt8]) {
        let response = HTTPResponse(status: 200, headers: [], body: bytes)
        _ = try? QueryResponse.verify(response, action: "AssumeRole", namespace: "https://sts.amazonaws.com/doc/2011-06-15/",
                                      operation: "fuzz:AssumeRole")
        _ = QueryResponse.error(from: HTTPResponse(status: 400, headers: [], body: bytes), operation: "fuzz:Error")
        let credentials = ["AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"].map { ["AssumeRoleResult", "Credentials", $0] }
        _ = try? QueryResponse.fields(bytes, [["GetCallerIdentityResult", "Account"]] + credentials)
        _ = try? QueryResponse.fields(bytes, credentials, lenient: true)
    }

    static func xmlRegions(_ bytes: [UInt8]) {
        var decoder = ShapeDecoder(bytes)
        _ = try? decoder.decodeDocument(as: EC2Model.describeRegionsResult)
    }

    /// What parses must print back to text that parses to the same value (the spool's promise),
    /// and the storage fast path's JSON → BSON must take what the parser takes and give the
    /// bytes of the parsed object's BSON.
    static func json(_ bytes: [UInt8]) {
        var writer = BSONWriter()
        let document = writer.begin()
        let transcoded = (try? writer.appendMembers(ofJSONObject: bytes, in: 0..<bytes.count)) != nil
        writer.end(document)
        let parsed = try? JSONValue.parse(bytes)
        if case .object = parsed {
            precondition(transcoded && writer.bytes == BSONValue(parsed!).encoded(), "JSON to BSON differs from the parser's value")
        } else {
            precondition(!transcoded, "JSON to BSON took what the parser refuses")
        }
        guard let value = parsed else { return }
        let again = try? JSONValue.parse(Array(value.serialized().utf8))
        precondition(again == value, "JSON does not survive a round trip")
    }

    /// Any bytes as a URI must not trap; any bytes as a password must never survive redaction,
    /// in the URI or in a message that quotes it.
    static func mongoURI(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = MongoURI(text).redacted
        _ = MongoURI(text).problem
        let password = text.filter { $0 != "@" }
        let skeleton = "mongodb://operator:****@db.example:27017/inventory?appname=fuzz", message = "connection to **** failed"
        // A password that is part of the text around it ("mongod") cannot be told apart there.
        guard password.utf8.count >= 4, !skeleton.contains(password), !message.contains(password) else { return }
        let uri = MongoURI(skeleton.replacingOccurrences(of: "****", with: password))
        precondition(!uri.redacted.contains(password), "password survived redaction")
        precondition(!uri.redactor.redact(message.replacingOccurrences(of: "****", with: password)).contains(password),
                     "password survived a message")
    }

    /// `--filter` and `--instance-ids` text: a filter or a typed error; a filter that parses
    /// survives the spool header's JSON form.
    static func filterShorthand(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        _ = try? InstanceIdList.parse([text])
        guard let filter = try? FilterShorthand.parse(text) else { return }
        let selection = PollSelection(filters: [filter])
        precondition(PollSelection(json: selection.json) == selection, "a selection does not survive its JSON form")
    }

    /// Replay's reader of page lines (`SpoolPageReader`), on the bytes as a line and as a
    /// page's instances: whatever it takes, the value path must take and agree with.
    static func spoolPage(_ bytes: [UInt8]) {
        for line in [bytes, Array("{\"Kind\":\"page\",\"Account\":\"1\",\"Region\":\"r\",\"Instances\":[".utf8) + bytes + Array("]}".utf8)] {
            guard let (slice, page) = SpoolPageReader.read(line) else { continue }
            guard case let .page(expectedSlice, instances)? = try? Spool.parseRecord(line) else {
                preconditionFailure("the page reader took a line the parser refuses")
            }
            precondition(slice == expectedSlice && page.count == instances.count && page.spans.count == instances.count, "page differs")
            for (k, instance) in instances.enumerated() {
                precondition((try? page.value(at: k)) == instance, "instance differs from the parser's")
                precondition(page.instanceIds[k] == instance["InstanceId"]?.stringValue, "id differs")
                precondition(page.stateNames[k] == instance["State"]?["Name"]?.stringValue, "state differs")
                precondition(page.hashes[k] == InventoryStore.contentHash(instance), "hash differs from the value's")
            }
        }
    }

    /// A decoded document must encode and decode to itself.
    static func bson(_ bytes: [UInt8]) {
        guard let value = try? BSONValue.decode(bytes) else { return }
        let again = try? BSONValue.decode(value.encoded())
        precondition(again != nil, "re-encoded BSON does not decode")
    }
}
