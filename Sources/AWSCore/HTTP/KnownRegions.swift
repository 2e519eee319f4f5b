extension RegionName {
    /// Every region of botocore's endpoint table (`Endpoints+Generated.swift`), sorted: what
    /// `--region` completes to. The partitions' pseudo-regions (`aws-global`) are left out.
    public static var known: [String] {
        EndpointTable.partitions.flatMap(\.regions).filter(isValid).sorted()
    }
}
