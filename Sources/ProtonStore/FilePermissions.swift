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

    static func prepareDirectory(_ directory: URL) throws(StoreError) {
        let manager = FileManager.default
        do {
            if !manager.fileExists(atPath: directory.path) {
                try manager.createDirectory(
                    at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: directoryMode])
            }
            try manager.setAttributes([.posixPermissions: directoryMode], ofItemAtPath: directory.path)
        } catch {
            throw .cannotCreate(path: directory.path, reason: reason(error))
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
        let manager = FileManager.default
        for file in files where manager.fileExists(atPath: file.path) {
            do {
                try manager.setAttributes([.posixPermissions: fileMode], ofItemAtPath: file.path)
            } catch {
                throw .cannotCreate(path: file.path, reason: reason(error))
            }
        }
    }

    private static func reason(_ error: any Error) -> String {
        if let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError,
            underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return (error as NSError).localizedDescription
    }
}
