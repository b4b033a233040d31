/// A failure of the test harness itself (a missing component, a script that failed), with what to do.
public struct TestSupportError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
