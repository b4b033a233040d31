import Foundation
import MediaSync
import TestSupport
import Testing

@Suite struct OperationsDocTests {
    /// Every MESSAGE_ID the daemon logs is in the operators' table, and the table names no other.
    @Test func everyMessageIDIsDocumented() throws {
        let doc = try String(contentsOfFile: try repositoryRoot() + "/docs/operations.md", encoding: .utf8)
        let documented = Set(doc.matches(of: /`(7d5a0c1e[0-9a-f]{24})`/).map { String($0.output.1) })
        #expect(documented == Set(SyncEvent.allCases.map(\.rawValue)))
    }
}
