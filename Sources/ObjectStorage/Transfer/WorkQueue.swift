import Synchronization

/// Elements handed out to concurrent workers, each exactly once, in order.
public final class WorkQueue<Element: Sendable>: Sendable {
    private let elements: [Element]
    private let index = Atomic<Int>(0)

    public init(_ elements: [Element]) { self.elements = elements }

    public func next() -> Element? {
        let i = index.wrappingAdd(1, ordering: .relaxed).oldValue
        return i < elements.count ? elements[i] : nil
    }
}
