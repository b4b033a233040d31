import LocalFS
import Synchronization

/// A small HTTP client over one libcurl easy handle.
///
/// - One handle per client, reused for every request, so consecutive requests to a host share a
///   connection (and TLS session). Requests run one at a time (the handle sits in a `Mutex`); for
///   parallel transfers, use one client per worker.
/// - curl_easy_perform blocks: it runs on a dedicated thread (`LocalFS.runBlocking`), never on the
///   cooperative pool.
/// - Bodies stream from a file descriptor range through curl's read callback (never the whole file
///   in memory); response bodies are kept in memory up to a bound.
/// - TLS verification is always on. Proxies: see ``HTTPClientConfiguration/Proxy``.
/// - Cancelling the calling task aborts the transfer (curl's progress callback checks a flag).
/// - A non-2xx status is a response, not an error; ``HTTPError`` is for requests that got no
///   complete response.
public final class HTTPClient: Sendable {
    public let configuration: HTTPClientConfiguration
    /// The handle, or why libcurl could not be loaded (every request fails with it).
    private let easy: Mutex<Result<CurlEasy, CurlUnavailable>>

    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        self.configuration = configuration
        easy = Mutex(Result { () throws(CurlUnavailable) in try CurlEasy() })
    }

    /// Sends `request` and returns the complete response.
    ///
    /// - Parameter onBodyBytesSent: called (on the transfer's thread) with each count of body bytes
    ///   handed to curl; keep it cheap.
    /// - Parameter throttle: called on the same thread with each count of body bytes before curl
    ///   gets them; it may block (a shared bandwidth limiter), which holds the upload back.
    /// - Parameter responseSink: receives the body of a 2xx response as it arrives (on the
    ///   transfer's thread) instead of it being kept in memory; other responses are kept as usual.
    public func send(
        _ request: HTTPRequest, onBodyBytesSent: (@Sendable (Int) -> Void)? = nil,
        throttle: (@Sendable (Int) -> Void)? = nil,
        responseSink: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil
    ) async throws(HTTPError) -> HTTPResponse {
        let cancellation = StopFlag() // set when the calling task is cancelled; curl's progress callback aborts
        let configuration = self.configuration
        let result: Result<HTTPResponse, HTTPError>
        do {
            result = try await withTaskCancellationHandler {
                try Task.checkCancellation()
                return try await runBlocking { [self] in
                    easy.withLock { easy in
                        switch easy {
                        case let .success(handle):
                            handle.perform(
                                request, configuration: configuration, cancellation: cancellation,
                                onBodyBytesSent: onBodyBytesSent, throttle: throttle, responseSink: responseSink)
                        case let .failure(unavailable):
                            .failure(HTTPError(kind: .transfer, message: unavailable.message, method: request.method.rawValue, url: request.url))
                        }
                    }
                }
            } onCancel: {
                cancellation.set()
            }
        } catch {
            // Only Task.checkCancellation throws here (the blocking body returns a Result).
            throw HTTPError(
                kind: .cancelled, message: "cancelled before it started",
                method: request.method.rawValue, url: request.url)
        }
        return try result.get()
    }
}
