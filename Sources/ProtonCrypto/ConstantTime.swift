import CSodium

public enum ConstantTime {
    /// Compares two byte strings in time that depends only on their length.
    public static func equals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        Sodium.ensureInitialized()
        guard lhs.count == rhs.count else { return false }
        if lhs.isEmpty { return true }
        return lhs.withUnsafeBytes { l in
            rhs.withUnsafeBytes { r in sodium_memcmp(l.baseAddress, r.baseAddress, l.count) == 0 }
        }
    }
}
