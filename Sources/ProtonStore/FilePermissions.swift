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
        try narrow(directory, to: directoryMode)
    }

    /// chmod to `mode` unless the mode is that already: a profile on a read-only file system
    /// (a mounted backup) or owned by someone else is told as such, not as "could not create".
    private static func narrow(_ path: URL, to mode: Int16) throws(StoreError) {
        var status = stat()
        if stat(path.path, &status) == 0, status.st_mode & 0o777 == mode_t(mode) { return }
        guard chmod(path.path, mode_t(mode)) == 0 else {
            let failure = errno
            if failure == EROFS || failure == EPERM || failure == EACCES { throw .notWritable(path: path.path, reason: String(cString: strerror(failure))) }
            throw .cannotCreate(path: path.path, reason: String(cString: strerror(failure)))
        }
    }

    /// Whether this process may write in `directory` (the file system is not read-only and the
    /// permissions allow it).
    static func isWritable(_ directory: URL) -> Bool {
        access(directory.path, W_OK) == 0
    }

    /// Why `directory` cannot be written, in the system's words ("Read-only file system",
    /// "Permission denied").
    static func whyNotWritable(_ directory: URL) -> String {
        access(directory.path, W_OK) == 0 ? "it is writable" : String(cString: strerror(errno))
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
            try narrow(file, to: fileMode)
        }
    }
}
