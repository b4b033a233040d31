import Foundation
import GRDB

/// The journal of multipart uploads in flight to object storage: enough to resume one after a
/// crash (its upload id, the part size it was cut with, the parts already stored) and to abort
/// the ones that will never be resumed. Plain types: the adapter to the object-storage journal
/// protocol lives with the wiring (MediaSync does not import ObjectStorage).
extension StateStore {
    public struct MultipartPartRecord: Sendable, Equatable {
        public var number: Int
        public var etag: String
        public var size: Int64
        /// Hex SHA-256 of the part's bytes.
        public var sha256: String
        public init(number: Int, etag: String, size: Int64, sha256: String) {
            self.number = number
            self.etag = etag
            self.size = size
            self.sha256 = sha256
        }
    }

    public struct MultipartUploadRecord: Sendable, Equatable {
        public var destination: String
        public var key: String
        public var uploadID: String
        /// The caller's identity of the local file's version: a changed file never resumes an old upload.
        public var fingerprint: String
        public var partSize: Int64
        /// Seconds since 1970.
        public var createdAt: Double
        /// In part-number order.
        public var parts: [MultipartPartRecord]
        public init(
            destination: String, key: String, uploadID: String, fingerprint: String, partSize: Int64,
            createdAt: Double, parts: [MultipartPartRecord] = []
        ) {
            self.destination = destination
            self.key = key
            self.uploadID = uploadID
            self.fingerprint = fingerprint
            self.partSize = partSize
            self.createdAt = createdAt
            self.parts = parts
        }
    }

    static func createMultipartTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE multipart_uploads (
                    upload_id TEXT PRIMARY KEY,
                    destination TEXT NOT NULL,
                    key TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    part_size INTEGER NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE INDEX multipart_uploads_key ON multipart_uploads (destination, key, fingerprint);
                CREATE TABLE multipart_parts (
                    upload_id TEXT NOT NULL REFERENCES multipart_uploads (upload_id) ON DELETE CASCADE,
                    number INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    sha256 TEXT NOT NULL,
                    PRIMARY KEY (upload_id, number)
                );
                """)
    }

    /// The newest journaled upload of `key` on `destination` for this version of the file.
    public func multipartUpload(destination: String, key: String, fingerprint: String) throws -> MultipartUploadRecord? {
        try db.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT * FROM multipart_uploads WHERE destination = ? AND key = ? AND fingerprint = ?
                        ORDER BY created_at DESC LIMIT 1
                        """, arguments: [destination, key, fingerprint])
            else { return nil }
            return try Self.multipartUpload(db, row)
        }
    }

    /// Every journaled upload (on `destination`, or all), oldest first: for cleanup.
    public func multipartUploads(destination: String? = nil) throws -> [MultipartUploadRecord] {
        try db.read { db in
            let rows =
                destination == nil
                ? try Row.fetchAll(db, sql: "SELECT * FROM multipart_uploads ORDER BY created_at")
                : try Row.fetchAll(
                    db, sql: "SELECT * FROM multipart_uploads WHERE destination = ? ORDER BY created_at",
                    arguments: [destination])
            return try rows.map { try Self.multipartUpload(db, $0) }
        }
    }

    /// Records a new upload (before any part is sent). Its parts, if given, are recorded with it.
    public func recordMultipartUploadStarted(_ upload: MultipartUploadRecord) throws {
        try db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO multipart_uploads (upload_id, destination, key, fingerprint, part_size, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    upload.uploadID, upload.destination, upload.key, upload.fingerprint, upload.partSize,
                    upload.createdAt
                ])
            for part in upload.parts { try Self.insertPart(db, uploadID: upload.uploadID, part) }
        }
    }

    /// Records a part the server stored (replacing an earlier record of the same number). Throws
    /// for an upload that is not journaled.
    public func recordMultipartPart(uploadID: String, _ part: MultipartPartRecord) throws {
        try db.write { db in try Self.insertPart(db, uploadID: uploadID, part) }
    }

    /// Forgets an upload and its parts (it was completed or aborted, or the server no longer knows it).
    public func forgetMultipartUpload(uploadID: String) throws {
        try db.write { db in
            try db.execute(sql: "DELETE FROM multipart_uploads WHERE upload_id = ?", arguments: [uploadID])
        }
    }

    private static func insertPart(_ db: Database, uploadID: String, _ part: MultipartPartRecord) throws {
        try db.execute(
            sql: """
                INSERT OR REPLACE INTO multipart_parts (upload_id, number, etag, size, sha256) VALUES (?, ?, ?, ?, ?)
                """, arguments: [uploadID, part.number, part.etag, part.size, part.sha256])
    }

    private static func multipartUpload(_ db: Database, _ row: Row) throws -> MultipartUploadRecord {
        let id: String = row["upload_id"]
        let parts = try Row.fetchAll(
            db, sql: "SELECT * FROM multipart_parts WHERE upload_id = ? ORDER BY number",
            arguments: [id]
        ).map {
            MultipartPartRecord(number: $0["number"], etag: $0["etag"], size: $0["size"], sha256: $0["sha256"])
        }
        return MultipartUploadRecord(
            destination: row["destination"], key: row["key"], uploadID: id,
            fingerprint: row["fingerprint"], partSize: row["part_size"],
            createdAt: row["created_at"], parts: parts)
    }
}
