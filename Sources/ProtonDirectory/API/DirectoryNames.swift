import Foundation

/// The directory's name rules, the same as the attestation format's (`Attestation`): a name is
/// 1–64 characters of a-z, 0-9, '.', '_' and '-'; a namespace a lowercase DNS name.
public enum DirectoryNames {
    public static let maximumNameByteCount = Attestation.maximumNameByteCount
    public static let maximumNamespaceByteCount = Attestation.maximumNamespaceByteCount

    public static func isValidName(_ name: String) -> Bool { Attestation.isValidName(name) }

    public static func isValidNamespace(_ namespace: String) -> Bool { Attestation.isValidNamespace(namespace) }

    /// The log's origin and the directory key's name for a namespace.
    public static func origin(namespace: String) -> String { namespace + "/directory" }

    /// Splits `name@namespace`; nil unless both halves are valid.
    public static func split(_ qualified: String) -> (name: String, namespace: String)? {
        guard let at = qualified.lastIndex(of: "@") else { return nil }
        let name = String(qualified[..<at])
        let namespace = String(qualified[qualified.index(after: at)...])
        guard isValidName(name), isValidNamespace(namespace) else { return nil }
        return (name, namespace)
    }
}
