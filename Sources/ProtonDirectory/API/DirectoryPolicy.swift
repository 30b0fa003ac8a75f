/// Who may bind a name in the namespace.
public enum DirectoryPolicy: String, Sendable, CaseIterable, Codable {
    /// First come, first served: a valid proof of possession for a free name is attested at once.
    case open
    /// Registrations wait (202) until the operator runs `proton directory approve NAME`.
    case approve
    /// Only names the operator allowed (`proton directory allow NAME [--key KEY]`) are attested.
    case allowlist
}
