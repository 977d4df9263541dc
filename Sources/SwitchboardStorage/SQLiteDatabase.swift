public import Logging
public import SQLKit
public import SQLiteKit
import NIOCore

/// Opens the embedded SQLite database named by a `sqlite://` URL, in WAL mode.
public struct SQLiteDatabase: SQLDatabaseProvider {
    public let connection: SQLiteConnection
    public let database: any SQLDatabase
    /// One connection: transactions take turns, or one's BEGIN would land inside another's.
    private let writeLock = AsyncSerialLock()

    /// - Parameter url: `sqlite://./switchboard.db`, `sqlite:///abs/path.db`, or `sqlite::memory:`.
    public static func open(url: String, logger: Logger) async throws -> SQLiteDatabase {
        let storage: SQLiteConnection.Storage
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            storage = .memory
        } else {
            var path = url
            for prefix in ["sqlite://", "sqlite:"] where path.hasPrefix(prefix) {
                path.removeFirst(prefix.count)
                break
            }
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

    private init(connection: SQLiteConnection, database: any SQLDatabase) {
        self.connection = connection
        self.database = database
    }

    public func withDatabase<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await body(database)
    }

    public func withTransaction<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result {
        try await writeLock.withLock {
            try await database.transaction(begin: "BEGIN IMMEDIATE", body)
        }
    }

    public func close() async throws {
        try await connection.close()
    }
}
