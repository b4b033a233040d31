import CurlHTTP

extension S3Client {
    /// Downloads `key`, handing the body to `sink` as it arrives (on the transfer's thread; never
    /// the whole object in memory). Returns the object's size as the response declared it. A
    /// missing key throws ``S3Error/Kind/notFound``.
    ///
    /// With `range`, only those bytes (a ranged GET): a server that answers with anything but
    /// exactly that range (206 and its Content-Range) is an ``S3Error/Kind/invalidResponse``; what
    /// it sent has reached `sink` by then, so the caller must discard it.
    public func getObject(key: String, range: ClosedRange<Int64>? = nil, sink: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) async throws(S3Error)
        -> Int64?
    {
        var call = Call(method: .get, key: key)
        if let range { call.headers.append(("range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        let response = try await perform(call, responseSink: sink)
        if let range {
            let expected = "bytes \(range.lowerBound)-\(range.upperBound)/"
            guard response.status == 206, response.headers["Content-Range"]?.hasPrefix(expected) == true else {
                throw S3Error(
                    kind: .invalidResponse,
                    message: "asked for \(expected.dropLast()) of \(key), got HTTP \(response.status) with Content-Range \(response.headers["Content-Range"] ?? "none")",
                    httpStatus: response.status, requestID: response.requestID, method: "GET")
            }
        }
        return response.headers["Content-Length"].flatMap { Int64($0) }
    }
}
