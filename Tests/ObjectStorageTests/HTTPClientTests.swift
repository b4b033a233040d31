import CurlHTTP
import Foundation
import Glibc
import Hashing
import ObjectStorage
import Synchronization
import TestSupport
import Testing

@Suite("HTTP client over libcurl")
struct HTTPClientTests {
    @Test("one handle reuses one connection; headers are case-insensitive; the request id is kept")
    func connectionReuse() async throws {
        let server = try await TestS3Server.shared()
        let client = HTTPClient(configuration: .init(proxy: .none))
        // Unsigned: S3 answers 403 AccessDenied, with a request id.
        let first = try await client.send(HTTPRequest(method: .get, url: server.endpoint + "/"))
        let second = try await client.send(HTTPRequest(method: .get, url: server.endpoint + "/"))
        #expect(first.status == 403 && second.status == 403)
        #expect(first.newConnections == 1)
        #expect(second.newConnections == 0, "the second request should reuse the first one's connection")
        #expect(first.requestID != nil)
        #expect(first.headers["X-AMZ-REQUEST-ID"] == first.headers["x-amz-request-id"])
        #expect(first.bodyText.contains("AccessDenied"))
    }

    @Test("a stalled server fails with a timeout, curl's text, and the URL without its query")
    func stall() async throws {
        let server = try SilentServer()
        let client = HTTPClient(configuration: .init(lowSpeedLimitBytesPerSecond: 1, lowSpeedTimeSeconds: 1, proxy: .none))
        let started = ContinuousClock.now
        let error = await #expect(throws: HTTPError.self) {
            _ = try await client.send(HTTPRequest(method: .get, url: server.url + "/k?X-Amz-Signature=0123456789abcdef"))
        }
        #expect(ContinuousClock.now - started < .seconds(15))
        let failure = try #require(error)
        #expect(failure.kind == .timeout)
        #expect(failure.curlCode == 28)
        #expect(failure.message.lowercased().contains("too slow"), "\(failure.message)")
        #expect(failure.url == server.url + "/k")
        #expect(!failure.description.contains("0123456789abcdef"))
    }

    @Test("cancelling the task aborts the transfer at once")
    func cancellation() async throws {
        let server = try SilentServer()
        let client = HTTPClient(configuration: .init(lowSpeedTimeSeconds: 600, proxy: .none))
        let task = Task { try await client.send(HTTPRequest(method: .get, url: server.url + "/")) }
        try await waitUntil(timeout: .seconds(10), waitingFor: "the request to connect") { server.acceptPending() }
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        guard case .failure(let error as HTTPError) = result else {
            Issue.record("expected an HTTPError, got \(result)")
            return
        }
        #expect(error.kind == .cancelled)
    }

    @Test("nothing listening: a connect error")
    func refused() async throws {
        let port = try closedLoopbackPort()
        let client = HTTPClient(configuration: .init(proxy: .none))
        let error = await #expect(throws: HTTPError.self) {
            _ = try await client.send(HTTPRequest(method: .get, url: "http://127.0.0.1:\(port)/"))
        }
        #expect(error?.kind == .connect)
        #expect(error?.message.contains("\(port)") == true, "\(String(describing: error))")
    }

    @Test("an explicit proxy carries the request; no_proxy and .none bypass it")
    func proxy() async throws {
        let server = try await TestS3Server.shared()
        // SeaweedFS (Go's HTTP server) accepts absolute-form requests, so it can stand in for a
        // forward proxy: a request for an unresolvable host answers only if it went through it.
        let target = "http://dms-proxy-check.invalid/"
        let proxied = HTTPClient(configuration: .init(proxy: .url(server.endpoint)))
        let response = try await proxied.send(HTTPRequest(method: .get, url: target))
        #expect(response.status == 403)
        #expect(response.requestID != nil)

        let bypassed = HTTPClient(configuration: .init(proxy: .url(server.endpoint, noProxy: "dms-proxy-check.invalid")))
        let error = await #expect(throws: HTTPError.self) { _ = try await bypassed.send(HTTPRequest(method: .get, url: target)) }
        #expect(error?.kind == .connect)

        let direct = HTTPClient(configuration: .init(proxy: .none))
        await #expect(throws: HTTPError.self) { _ = try await direct.send(HTTPRequest(method: .get, url: target)) }
    }

    @Test("TLS: an untrusted certificate is refused; trusting its CA bundle works")
    func tls() async throws {
        let server = try await TLSTestServer.start()
        defer { try? server.stop() }
        let url = "https://127.0.0.1:\(server.port)/"
        let error = await #expect(throws: HTTPError.self) {
            _ = try await HTTPClient(configuration: .init(proxy: .none)).send(HTTPRequest(method: .get, url: url))
        }
        #expect(error?.kind == .tls)
        #expect(error?.message.lowercased().contains("certificate") == true, "\(String(describing: error))")

        let trusting = HTTPClient(configuration: .init(proxy: .none, caBundlePath: server.certificatePath))
        let response = try await trusting.send(HTTPRequest(method: .get, url: url))
        #expect(response.status == 200)
    }

    @Test("a body streams from a file range (presigned PUT), and a short file fails as a body read error")
    func fileRangeBody() async throws {
        let server = try await TestS3Server.shared()
        let (s3, prefix) = try server.makeScope("range")
        let directory = try TemporaryDirectory(prefix: "dms-s3-range")
        defer { try? directory.remove() }
        let path = try directory.writeFile("data.bin", size: 300_000, seed: 7)
        let all = Array(try Data(contentsOf: URL(fileURLWithPath: path.string)))
        let fd = open(path.string, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }

        let http = HTTPClient(configuration: .init(proxy: .none))
        let putURL = try s3.presignedURL(method: .put, key: prefix + "range.bin", expiresInSeconds: 300)
        let sent = Mutex(0)
        let put = try await http.send(
            HTTPRequest(method: .put, url: putURL, body: .file(descriptor: fd, offset: 1000, length: 250_000)),
            onBodyBytesSent: { count in sent.withLock { $0 += count } })
        try #require(put.status == 200, "\(put.bodyText)")
        #expect(sent.withLock { $0 } == 250_000)
        #expect(put.bytesSent == 250_000)

        let getURL = try s3.presignedURL(method: .get, key: prefix + "range.bin", expiresInSeconds: 300)
        let got = try await http.send(HTTPRequest(method: .get, url: getURL))
        try #require(got.status == 200, "\(got.bodyText)")
        // Digests, not the arrays: swift-testing would diff 250 000 elements on a failure.
        #expect(SHA256Hasher.hash(got.body) == SHA256Hasher.hash(all[1000..<251_000]))

        // A response larger than the bound is an error, not a truncated body.
        let small = HTTPClient(configuration: .init(proxy: .none, maximumResponseBodyBytes: 1000))
        let tooLarge = await #expect(throws: HTTPError.self) { _ = try await small.send(HTTPRequest(method: .get, url: getURL)) }
        #expect(tooLarge?.kind == .responseTooLarge)

        // Promise more bytes than the file has: the read callback aborts the upload.
        let shortURL = try s3.presignedURL(method: .put, key: prefix + "short.bin", expiresInSeconds: 300)
        let short = await #expect(throws: HTTPError.self) {
            _ = try await http.send(
                HTTPRequest(
                    method: .put, url: shortURL,
                    body: .file(descriptor: fd, offset: 0, length: 400_000)))
        }
        #expect(short?.kind == .bodyRead)
        #expect(short?.message.contains("shrank") == true, "\(String(describing: short))")
        #expect(short.map { !$0.description.contains("X-Amz-Signature") } == true)
    }
}
