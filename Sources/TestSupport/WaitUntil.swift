/// Thrown by ``waitUntil(timeout:poll:waitingFor:isolation:fileID:line:_:)`` when the condition did
/// not become true before the deadline.
public struct TimedOut: Error, CustomStringConvertible, Sendable {
    public let timeout: Duration
    public let waitingFor: String
    public let fileID: String
    public let line: Int

    public var description: String {
        "timed out after \(timeout) waiting for \(waitingFor) (\(fileID):\(line))"
    }
}

/// Polls `condition` until it returns true; throws ``TimedOut`` once `timeout` has passed.
///
/// This is the only way tests wait: never a fixed sleep. The condition is checked once more at the
/// deadline, so a condition that becomes true exactly then still passes.
///
/// - Parameters:
///   - timeout: How long to keep trying (on the continuous clock).
///   - poll: The pause between two checks.
///   - waitingFor: What is awaited, for the error message.
///   - condition: Evaluated on the caller's actor; errors it throws end the wait at once.
public func waitUntil(
    timeout: Duration,
    poll: Duration = .milliseconds(20),
    waitingFor: String = "the condition",
    isolation: isolated (any Actor)? = #isolation,
    fileID: String = #fileID,
    line: Int = #line,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    while true {
        if try await condition() { return }
        let now = clock.now
        if now >= deadline {
            throw TimedOut(timeout: timeout, waitingFor: waitingFor, fileID: fileID, line: line)
        }
        try await Task.sleep(for: min(poll, now.duration(to: deadline)))
    }
}
