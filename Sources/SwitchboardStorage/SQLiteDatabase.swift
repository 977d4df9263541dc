package import Logging
package import SQLKit
package import SQLiteKit
import NIOCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The database file could not be created.
package struct SQLiteFileError: Error, CustomStringConvertible {
    package var path: String
    package var description: String { "the SQLite database file \(path) could not be created" }
}

/// Opens the embedded SQLite database named by a `sqlite://` URL, in WAL mode.
package struct SQLiteDatabase: SQLDatabaseProvider {
    package let connection: SQLiteConnection
    package let database: any SQLDatabase
    /// One connection: transactions take turns, or one's BEGIN would land inside another's.
    private let writeLock = AsyncSerialLock()

    /// - Parameter url: `sqlite://./switchboard.db`, `sqlite:///abs/path.db`, or `sqlite::memory:`.
    package static func open(url: String, logger: Logger) async throws -> SQLiteDatabase {
        let storage: SQLiteConnection.Storage
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            storage = .memory
        } else {
            var path = url
            for prefix in ["sqlite://", "sqlite:"] where path.hasPrefix(prefix) {
                path.removeFirst(prefix.count)
                break
            }
            try Self.prepareFile(path)
            storage = .file(path: path)
        }
        let connection = try await SQLiteConnection.open(storage: storage, logger: logger)
        let database = connection.sql(queryLogLevel: nil)
        if storage != .memory {
            _ = try await database.raw("PRAGMA journal_mode=WAL").all()
            try await database.raw("PRAGMA synchronous=NORMAL").run()
        }
        try await database.raw("PRAGMA busy_timeout=5000").run()
        return SQLiteDatabase(connection: connection, database: database)
    }

    /// Creates the database file owner-only (0600) before SQLite opens it, so it and the `-wal`
    /// and `-shm` files SQLite makes with the same mode are not readable by other users whatever
    /// the umask; a directory the gateway has to create is 0700. Files of an earlier run that
    /// others could read (created before this rule) are made owner-only too.
    static func prepareFile(_ path: String) throws {
        let files = FileManager.default
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        if !directory.isEmpty, !files.fileExists(atPath: directory) {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if !files.fileExists(atPath: path) {
            guard files.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw SQLiteFileError(path: path)
            }
        }
        for file in [path, path + "-wal", path + "-shm"] {
            guard let mode = (try? files.attributesOfItem(atPath: file))?[.posixPermissions] as? Int, mode & 0o077 != 0 else { continue }
            try? files.setAttributes([.posixPermissions: mode & 0o700], ofItemAtPath: file)
        }
    }

    private init(connection: SQLiteConnection, database: any SQLDatabase) {
        self.connection = connection
        self.database = database
    }

    package func withDatabase<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await body(database)
    }

    package func withTransaction<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await writeLock.withLock {
            try await database.transaction(begin: "BEGIN IMMEDIATE", body)
        }
    }

    package func close() async throws {
        try await connection.close()
    }
}
