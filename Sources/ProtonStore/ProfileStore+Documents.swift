import Foundation
import GRDB

/// Small documents a profile keeps whole, each read and written in one piece: the services
/// (`ServicesConfiguration`, ProtonAgents) and the directory trust state (`DirectoryTrust`,
/// ProtonClient), as the JSON their owners encode. They were files beside the database
/// (services.json, directories.json) until format 3.
extension ProfileStore {
    public enum Document: String, Sendable, CaseIterable {
        case services
        case directoryTrust = "directory trust"

        /// The file an earlier version kept this document in, beside the database.
        public var legacyFileName: String {
            switch self {
            case .services: "services.json"
            case .directoryTrust: "directories.json"
            }
        }
    }

    /// The largest document taken in or stored (a directory trust state holds at most 10,000
    /// attestation bundles of a few kilobytes each).
    public static let maximumDocumentByteCount = 64 << 20

    /// The stored document, or nil when there is none. An earlier version's file beside the
    /// database is taken in first (once, in a transaction, then deleted); a profile opened
    /// for reading only reads the file instead.
    public func document(_ name: Document) throws -> Data? {
        let legacy = directory.appendingPathComponent(name.legacyFileName)
        if FileManager.default.fileExists(atPath: legacy.path) {
            let data = try Self.readLegacy(legacy)
            if isReadOnly {
                return try storedDocument(name) ?? data
            }
            try transaction { tx in
                if try Self.fetchDocument(name, tx.db) == nil { try Self.write(name, data, tx.db) }
            }
            try? FileManager.default.removeItem(at: legacy)
        }
        return try storedDocument(name)
    }

    /// Takes in every document an earlier version kept in a file (at open, so that a migrated
    /// profile has no such file left). A file that cannot be taken in stays, and reading that
    /// document reports why.
    func takeInLegacyDocuments() {
        guard !isReadOnly else { return }
        for name in Document.allCases { _ = try? document(name) }
    }

    /// Replaces the document.
    public func saveDocument(_ name: Document, _ data: Data) throws {
        guard data.count <= Self.maximumDocumentByteCount else {
            throw StoreError.corrupt(what: "the \(name.rawValue) document (\(data.count) bytes, more than \(Self.maximumDocumentByteCount))")
        }
        try transaction { tx in try Self.write(name, data, tx.db) }
    }

    private func storedDocument(_ name: Document) throws -> Data? {
        try read { db in try Self.fetchDocument(name, db) }
    }

    private static func fetchDocument(_ name: Document, _ db: Database) throws -> Data? {
        try Data.fetchOne(db, sql: "SELECT value FROM documents WHERE name = ?", arguments: [name.rawValue])
    }

    private static func write(_ name: Document, _ data: Data, _ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO documents (name, value, updated) VALUES (?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated = excluded.updated
                """, arguments: [name.rawValue, data, Date()])
    }

    private static func readLegacy(_ url: URL) throws -> Data {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        guard size <= maximumDocumentByteCount, let data = FileManager.default.contents(atPath: url.path) else {
            throw StoreError.corrupt(what: "\(url.path) (unreadable, or larger than \(maximumDocumentByteCount) bytes)")
        }
        return data
    }
}
