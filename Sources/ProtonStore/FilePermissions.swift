import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The profile holds secrets: its directory is 0700 and its database files 0600, whatever the
/// umask says.
enum FilePermissions {
    static let directoryMode: Int16 = 0o700
    static let fileMode: Int16 = 0o600

    /// Creates the directory (0700), or narrows an existing one to 0700 when it holds nothing
    /// but a profile: a directory the user keeps other things in (`--profile .`) keeps its mode,
    /// and the database files are protected by their own.
    static func prepareDirectory(_ directory: URL, databaseFileName: String) throws(StoreError) {
        try makeDirectory(directory.standardizedFileURL)
        let contents = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        guard contents.allSatisfy({ $0.hasPrefix(databaseFileName) }) else { return }
        guard chmod(directory.path, mode_t(directoryMode)) == 0 else {
            throw .cannotCreate(path: directory.path, reason: String(cString: strerror(errno)))
        }
    }

    /// `mkdir -p`, each new directory 0700 (as the XDG specification asks of its base
    /// directories), with the system's own reason when it fails.
    private static func makeDirectory(_ directory: URL) throws(StoreError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw .cannotCreate(path: directory.path, reason: "a file is in the way") }
            return
        }
        let parent = directory.deletingLastPathComponent()
        if parent.path != directory.path { try makeDirectory(parent) }
        guard mkdir(directory.path, mode_t(directoryMode)) == 0 || errno == EEXIST else {
            throw .cannotCreate(path: directory.path, reason: String(cString: strerror(errno)))
        }
    }

    /// Creates the database file with mode 0600 before SQLite opens it. SQLite gives its -wal
    /// and -shm files the database file's mode, so they are born 0600 too.
    static func createPrivateFile(_ file: URL) throws(StoreError) {
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode_t(fileMode))
        guard descriptor >= 0 else {
            throw .cannotCreate(path: file.path, reason: String(cString: strerror(errno)))
        }
        close(descriptor)
    }

    /// Narrows the modes of files that exist (a profile copied in with wider ones).
    static func restrict(_ files: [URL]) throws(StoreError) {
        for file in files where FileManager.default.fileExists(atPath: file.path) {
            guard chmod(file.path, mode_t(fileMode)) == 0 else {
                throw .cannotCreate(path: file.path, reason: String(cString: strerror(errno)))
            }
        }
    }
}
