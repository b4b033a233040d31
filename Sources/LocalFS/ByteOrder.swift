import Glibc

/// memcmp order of byte strings: the order SQLite gives BLOBs (the ledger's path index), so a
/// sorted scan and an index walk can be merged.
public enum ByteOrder {
    public static func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        let n = min(a.count, b.count)
        let c = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n) } }
        if c != 0 { return c < 0 ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    public static func less(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Bool { compare(a, b) < 0 }

    public static func compare(_ a: ArraySlice<UInt8>, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        let c = a.withUnsafeBufferPointer { pa in n == 0 ? 0 : memcmp(pa.baseAddress!, b.baseAddress!, n) }
        if c != 0 { return c < 0 ? -1 : 1 }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }
}
