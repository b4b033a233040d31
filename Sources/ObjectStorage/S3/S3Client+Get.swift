import CurlHTTP

extension S3Client {
    /// Downloads `key`, handing the body to `sink` as it arrives (on the transfer's thread; never
    /// the whole object in memory). Returns the object's size as the response declared it. A
    /// missing key throws ``S3Error/Kind/notFound``.
    public func getObject(key: String, sink: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) async throws(S3Error) -> Int64? {
        let response = try await perform(Call(method: .get, key: key), responseSink: sink)
        return response.headers["Content-Length"].flatMap { Int64($0) }
    }
}
