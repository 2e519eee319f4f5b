import AWSCore

/// The part of the EC2 service model the poller decodes, as a table.
///
/// The table itself (`EC2Model+Generated.swift`) comes from botocore's model through
/// `scripts/generate-ec2-model.py`, so every field EC2 can return for an instance is decoded
/// under the name, nesting and JSON type the AWS CLI uses, including fields added after this
/// code was written: regenerate, review, ship. Unknown elements are skipped, never fatal.
enum EC2Model {
    enum Scalar: Sendable {
        case string, integer, boolean, timestamp, double
    }

    struct Member: Sendable {
        /// The element name on the wire (`instanceId`).
        let xml: String
        /// The name in the JSON document (`InstanceId`).
        let name: String
        let shape: Int
        let xmlBytes: [UInt8]
        /// `"InstanceId":`, escaped once here rather than for every instance rendered.
        let jsonKey: [UInt8]

        init(xml: String, name: String, shape: Int) {
            self.xml = xml
            self.name = name
            self.shape = shape
            self.xmlBytes = Array(xml.utf8)
            self.jsonKey = JSONValue.jsonKey(name)
        }
    }

    enum Shape: Sendable {
        case scalar(Scalar)
        case structure(String, members: [Member])
        case list(String, item: String, member: Int)
    }
}
