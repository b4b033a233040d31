import Foundation
import Logging
import MediaSync
import TestSupport
import Testing

@testable import SSHTransport

/// The first batch's data session opens while the connection still greets (as soon as the master's
/// control socket is in place): on a slow link the first batch streams a round trip or two sooner.
@Suite struct FirstDataSessionTests {
    @Test func theDataSessionOpenedWhileConnectingGoesToTheFirstBatchOnly() async throws {
        let f = try await NASFixture("reserve")
        defer { f.cleanUp() }
        let destination = NASDestination(
            config: f.nas, integrity: f.config.integrity, concurrency: f.config.concurrency,
            runtimeDirectory: f.config.state.runtimeDirectory, instanceID: "reserve")
        let logger = Logger(label: "test")

        let session = try #require(try await destination.connect(journal: try f.store(), progress: SilentObserver(), logger: logger) as? NASSession)
        let opening = try #require(session.reserve.withLock { $0 }, "connect opens one")
        let reserved = try #require(await opening.value, "it opened on the master's socket")
        let first = try await session.openDataSession()
        let second = try await session.openDataSession()
        #expect(first.pid == reserved.pid)
        #expect(second.pid != reserved.pid, "taken once; later batches open their own")
        NASSession.discard(first)
        NASSession.discard(second)
        await session.close()

        // Unused, it ends with the connection.
        let unused = try #require(try await destination.connect(journal: try f.store(), progress: SilentObserver(), logger: logger) as? NASSession)
        let idle = try #require(await unused.reserve.withLock { $0 }?.value)
        await unused.close()
        #expect(unused.reserve.withLock { $0 } == nil)
        _ = await idle.wait()

        // A read-only connection (the dry run, restore) never sends: it opens none.
        let readOnly = try #require(try await destination.connectReadOnly(progress: SilentObserver(), logger: logger) as? NASSession)
        #expect(readOnly.reserve.withLock { $0 } == nil)
        await readOnly.close()
    }
}
