import Glibc
import LocalFS
import SystemPackage
import TestSupport
import Testing

/// `waitUntilExists`: how the NAS connection learns that ssh's control socket is in place (ssh
/// binds it under a temporary name and links it into place).
@Suite struct PathWaitTests {
    @Test func aNameLinkedIntoPlaceWhileWaitingEndsTheWait() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let target = dir.appending("cm-socket")
        let waiter = Task { await LocalFS.waitUntilExists(target, timeout: .seconds(30)) }
        // As ssh does it: another name first, then a link to the awaited one.
        let temporary = try dir.writeFile("cm-socket.XXXX", bytes: [])
        #expect(link(temporary.string, target.string) == 0)
        #expect(await waiter.value)
        #expect(await LocalFS.waitUntilExists(target, timeout: .zero), "an existing name is found at once")
    }

    @Test func aNameThatNeverAppearsTimesOut() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let start = ContinuousClock.now
        #expect(await !LocalFS.waitUntilExists(dir.appending("never"), timeout: .milliseconds(150)))
        #expect(ContinuousClock.now - start >= .milliseconds(150))
        #expect(await !LocalFS.waitUntilExists(dir.appending("missing/never"), timeout: .seconds(30)), "a missing folder cannot be watched: no wait")
    }

    @Test func cancellingTheTaskEndsTheWait() async throws {
        let dir = try TemporaryDirectory()
        defer { try? dir.remove() }
        let start = ContinuousClock.now
        let waiter = Task { await LocalFS.waitUntilExists(dir.appending("never"), timeout: .seconds(60)) }
        waiter.cancel()
        #expect(await !waiter.value)
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
