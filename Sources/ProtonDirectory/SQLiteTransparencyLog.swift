import Foundation
import GRDB

/// The directory's transparency log in SQLite (GRDB, WAL). Two tables:
///
/// - `leaf(idx, data)`: the leaves, by index;
/// - `node(level, idx, hash)`: the hash of every complete subtree, level 0 being the leaf
///   hashes. Filled as leaves are appended, in the same transaction, so the table always
///   describes exactly the leaves present.
///
/// A root, an inclusion proof or a consistency proof for any size reads at most ~2·64 rows by
/// primary key, inside one read transaction (one snapshot). Appends of many leaves share one
/// write transaction. The log is durable before `append` returns (`synchronous = FULL`): a
/// directory that signed a checkpoint and then lost its tail in a crash would have forked.
public final class SQLiteTransparencyLog: TransparencyLog, @unchecked Sendable {
    private let pool: DatabasePool

    /// Opens (or creates) the log in the SQLite file at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.label = "ProtonDirectory.log"
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Folds the write-ahead log into the database file and closes it (the service's cleanup,
    /// once no request is running). Later calls throw.
    public func close() {
        _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try? pool.close()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1 transparency log") { db in
            try db.execute(
                sql: """
                    CREATE TABLE leaf (
                        idx INTEGER PRIMARY KEY NOT NULL CHECK (idx >= 0),
                        data BLOB NOT NULL
                    );
                    CREATE TABLE node (
                        level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
                        idx INTEGER NOT NULL CHECK (idx >= 0),
                        hash BLOB NOT NULL CHECK (length(hash) = 32),
                        PRIMARY KEY (level, idx)
                    ) WITHOUT ROWID;
                    """)
        }
        return migrator
    }

    public func size() throws -> UInt64 {
        try pool.read { db in try Self.size(db) }
    }

    @discardableResult
    public func append(_ leaves: [[UInt8]]) throws -> UInt64 {
        try append(building: { _ in leaves })
    }

    @discardableResult
    public func append(building build: (UInt64) throws -> [[UInt8]]) throws -> UInt64 {
        try pool.writeWithoutTransaction { db in
            var first: UInt64 = 0
            try db.inTransaction(.immediate) {
                first = try Self.size(db)
                let leaves = try build(first)
                try LogRequest.checkLeaves(leaves, size: first, maximumSize: UInt64(Int64.max))
                try Self.insert(leaves, at: first, db)
                return .commit
            }
            return first
        }
    }

    public func leaf(at index: UInt64) throws -> [UInt8] {
        try pool.read { db in
            let size = try Self.size(db)
            guard index < size else { throw TransparencyLogError.indexOutOfRange(index: index, size: size) }
            guard let data = try Data.fetchOne(db, sql: "SELECT data FROM leaf WHERE idx = ?", arguments: [Int64(index)]) else {
                throw TransparencyLogError.corrupted("leaf \(index) is missing")
            }
            return [UInt8](data)
        }
    }

    public func root(size: UInt64) throws -> [UInt8] {
        try pool.read { db in
            try LogRequest.checkSize(size, logSize: try Self.size(db))
            return try Subtrees(db: db).treeRoot(size: size)
        }
    }

    public func inclusionProof(index: UInt64, size: UInt64) throws -> InclusionProof {
        try pool.read { db in
            try LogRequest.checkInclusion(index: index, size: size, logSize: try Self.size(db))
            let hashes = try Subtrees(db: db).inclusionPath(leafIndex: index, treeSize: size)
            return InclusionProof(leafIndex: index, treeSize: size, hashes: hashes)
        }
    }

    public func consistencyProof(from: UInt64, to: UInt64) throws -> ConsistencyProof {
        try pool.read { db in
            try LogRequest.checkConsistency(from: from, to: to, logSize: try Self.size(db))
            let hashes = try Subtrees(db: db).consistencyPath(firstSize: from, secondSize: to)
            return ConsistencyProof(firstSize: from, secondSize: to, hashes: hashes)
        }
    }

    public func checkpoint(origin: String) throws -> Checkpoint {
        let (size, root) = try pool.read { db in
            let size = try Self.size(db)
            return (size, try Subtrees(db: db).treeRoot(size: size))
        }
        return try Checkpoint(origin: origin, size: size, rootHash: root)
    }

    // MARK: - Storage

    /// The leaf indices are dense from 0, so the size is the highest index plus one (an O(log n)
    /// lookup on the primary key, not a count).
    private static func size(_ db: Database) throws -> UInt64 {
        guard let highest = try Int64.fetchOne(db, sql: "SELECT MAX(idx) FROM leaf") else { return 0 }
        return UInt64(highest) + 1
    }

    /// Inserts the leaves and every complete subtree they finish. The left sibling a new node
    /// needs was either made earlier in this batch (the last node made at that level) or is on
    /// the log's right edge already (one lookup per level, at most 64 per batch).
    private static func insert(_ leaves: [[UInt8]], at first: UInt64, _ db: Database) throws {
        let insertLeaf = try db.cachedStatement(sql: "INSERT INTO leaf (idx, data) VALUES (?, ?)")
        let insertNode = try db.cachedStatement(sql: "INSERT INTO node (level, idx, hash) VALUES (?, ?, ?)")
        let subtrees = Subtrees(db: db)
        var lastAtLevel = [(index: UInt64, hash: [UInt8])?](repeating: nil, count: 64)
        for (offset, leaf) in leaves.enumerated() {
            let leafIndex = first + UInt64(offset)
            try insertLeaf.execute(arguments: [Int64(leafIndex), Data(leaf)])
            var index = leafIndex
            var hash = Merkle.leafHash(leaf)
            var level = 0
            while true {
                try insertNode.execute(arguments: [level, Int64(index), Data(hash)])
                let previous = lastAtLevel[level]
                lastAtLevel[level] = (index, hash)
                guard index & 1 == 1 else { break }
                let left: [UInt8]
                if let previous, previous.index == index - 1 {
                    left = previous.hash
                } else {
                    left = try subtrees.completeSubtreeHash(level: level, index: index - 1)
                }
                hash = Merkle.nodeHash(left, hash)
                level += 1
                index >>= 1
            }
        }
    }

    /// The node table read through one connection (one snapshot).
    struct Subtrees: CompleteSubtrees {
        let db: Database

        func completeSubtreeHash(level: Int, index: UInt64) throws -> [UInt8] {
            let statement = try db.cachedStatement(sql: "SELECT hash FROM node WHERE level = ? AND idx = ?")
            guard let data = try Data.fetchOne(statement, arguments: [level, Int64(index)]), data.count == Merkle.hashByteCount else {
                throw TransparencyLogError.corrupted("no subtree hash at level \(level), index \(index)")
            }
            return [UInt8](data)
        }
    }
}
