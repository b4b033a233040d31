import CCurl
import CCurlShims
import Glibc
import LocalFS

/// libcurl loaded and curl_global_init run, once per process, before the first handle (thread-safe
/// through Swift's lazy-global initialisation). nil once loaded, else why it could not be.
enum CurlGlobal {
    static let loadFailure: String? = {
        if let failure = ccurl_load() {
            return "libcurl (Debian package libcurl4) could not be loaded: \(String(cString: failure))"
        }
        let code = ccurl_global_init(Int(CURL_GLOBAL_DEFAULT))
        precondition(code == CURLE_OK, "curl_global_init failed: \(String(cString: ccurl_easy_strerror(code)))")
        return nil
    }()
}

struct CurlUnavailable: Error {
    let message: String
}

/// One curl easy handle. Not Sendable: ``HTTPClient`` keeps it in a `Mutex`, so it runs one
/// request at a time, and each request runs start to end on one (dedicated) thread.
///
/// The handle is reset (`curl_easy_reset`) and configured afresh for every request; a reset keeps
/// the handle's connection cache, DNS cache and TLS session cache, so consecutive requests to the
/// same host reuse one connection.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// Throws the reason when libcurl cannot be loaded.
    init() throws(CurlUnavailable) {
        if let failure = CurlGlobal.loadFailure { throw CurlUnavailable(message: failure) }
        guard let handle = ccurl_easy_init() else { fatalError("curl_easy_init failed: out of memory") }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        ccurl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Runs `request` to completion on the calling thread (blocking).
    func perform(
        _ request: HTTPRequest, configuration: HTTPClientConfiguration,
        cancellation: StopFlag, onBodyBytesSent: (@Sendable (Int) -> Void)?,
        throttle: (@Sendable (Int) -> Void)? = nil,
        responseSink: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil
    ) -> Result<HTTPResponse, HTTPError> {
        if case .file(_, let offset, let length) = request.body, offset < 0 || length < 0 {
            return .failure(
                HTTPError(
                    kind: .bodyRead, message: "invalid file range: offset \(offset), length \(length)",
                    method: request.method.rawValue, url: request.url))
        }
        ccurl_easy_reset(handle)
        errorBuffer[0] = 0
        let context = TransferContext(
            body: request.body, maximumResponseBodyBytes: configuration.maximumResponseBodyBytes,
            cancellation: cancellation, onBodyBytesSent: onBodyBytesSent, throttle: throttle)
        context.responseSink = responseSink
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { ccurl_slist_free_all(headerList) }

        return withExtendedLifetime(context) {
            configure(request, configuration: configuration, context: context, headerList: &headerList)
            let code = ccurl_easy_perform(handle)
            return finish(code, request: request, context: context)
        }
    }

    // MARK: - Configuration

    private func configure(
        _ request: HTTPRequest, configuration: HTTPClientConfiguration,
        context: TransferContext, headerList: inout UnsafeMutablePointer<curl_slist>?
    ) {
        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        set(CURLOPT_ERRORBUFFER, pointer: UnsafeRawPointer(errorBuffer))
        set(CURLOPT_NOSIGNAL, 1) // threads: no SIGALRM for DNS timeouts
        set(CURLOPT_URL, string: request.url)
        set(CURLOPT_PROTOCOLS_STR, string: "http,https")
        set(CURLOPT_FOLLOWLOCATION, 0)
        // S3 keys are names, not paths: never let curl squash "/../" or "/./" out of a URL.
        set(CURLOPT_PATH_AS_IS, 1)
        set(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_USERAGENT, string: configuration.userAgent)

        // TLS: always verified (peer certificate chain and host name).
        set(CURLOPT_SSL_VERIFYPEER, 1)
        set(CURLOPT_SSL_VERIFYHOST, 2)
        if let bundle = configuration.caBundlePath { set(CURLOPT_CAINFO, string: bundle) }

        // Timeouts: connect, stall (low speed), and an optional overall bound.
        set(CURLOPT_CONNECTTIMEOUT, configuration.connectTimeoutSeconds)
        set(CURLOPT_LOW_SPEED_LIMIT, configuration.lowSpeedLimitBytesPerSecond)
        set(CURLOPT_LOW_SPEED_TIME, configuration.lowSpeedTimeSeconds)
        if let total = configuration.totalTimeoutSeconds { set(CURLOPT_TIMEOUT, total) }

        // Proxy: unset, curl reads the environment (http_proxy, https_proxy, all_proxy, no_proxy).
        switch configuration.proxy {
        case .environment:
            break
        case .none:
            set(CURLOPT_PROXY, string: "") // "" disables proxies, environment included
        case .url(let url, let noProxy):
            set(CURLOPT_PROXY, string: url)
            if let noProxy { set(CURLOPT_NOPROXY, string: noProxy) }
        }

        // Callbacks, all with the per-request context.
        check(ccurl_easy_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION, TransferContext.writeCallback), "WRITEFUNCTION")
        set(CURLOPT_WRITEDATA, pointer: contextPointer)
        check(ccurl_easy_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION, TransferContext.headerCallback), "HEADERFUNCTION")
        set(CURLOPT_HEADERDATA, pointer: contextPointer)
        check(ccurl_easy_setopt_read_callback(handle, CURLOPT_READFUNCTION, TransferContext.readCallback), "READFUNCTION")
        set(CURLOPT_READDATA, pointer: contextPointer)
        check(ccurl_easy_setopt_seek_callback(handle, CURLOPT_SEEKFUNCTION, TransferContext.seekCallback), "SEEKFUNCTION")
        set(CURLOPT_SEEKDATA, pointer: contextPointer)
        check(ccurl_easy_setopt_xferinfo_callback(handle, CURLOPT_XFERINFOFUNCTION, TransferContext.progressCallback), "XFERINFOFUNCTION")
        set(CURLOPT_XFERINFODATA, pointer: contextPointer)
        set(CURLOPT_NOPROGRESS, 0)

        // Method and body. The read callback supplies every body (never curl's default, stdin).
        let length = request.body.length
        switch request.method {
        case .get where length == 0:
            set(CURLOPT_HTTPGET, 1)
        case .head:
            set(CURLOPT_NOBODY, 1)
        case .post:
            set(CURLOPT_POST, 1)
            set(CURLOPT_POSTFIELDSIZE_LARGE, offset: length)
        case .put:
            set(CURLOPT_UPLOAD, 1)
            set(CURLOPT_INFILESIZE_LARGE, offset: length)
        default:
            if length > 0 {
                set(CURLOPT_UPLOAD, 1)
                set(CURLOPT_INFILESIZE_LARGE, offset: length)
            }
            set(CURLOPT_CUSTOMREQUEST, string: request.method.rawValue)
        }
        if length > 0 {
            set(CURLOPT_UPLOAD_BUFFERSIZE, min(max(configuration.uploadBufferBytes, 16 << 10), 2 << 20))
        }

        // Headers: the request's, then blanks for curl's defaults we do not want.
        var lines = request.headers.map { $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" }
        if !request.headers.contains("Expect") {
            lines.append(request.expectContinue && length > 0 ? "Expect: 100-continue" : "Expect:")
        }
        if !request.headers.contains("Accept") { lines.append("Accept:") }
        if request.method == .post && !request.headers.contains("Content-Type") { lines.append("Content-Type:") }
        for line in lines {
            guard let appended = ccurl_slist_append(headerList, line) else { fatalError("curl_slist_append: out of memory") }
            headerList = appended
        }
        set(CURLOPT_HTTPHEADER, pointer: UnsafeRawPointer(headerList))
    }

    private func set(_ option: CURLoption, _ value: Int) {
        check(ccurl_easy_setopt_long(handle, option, value), "option \(option.rawValue)")
    }

    private func set(_ option: CURLoption, offset value: Int64) {
        check(ccurl_easy_setopt_off_t(handle, option, curl_off_t(value)), "option \(option.rawValue)")
    }

    private func set(_ option: CURLoption, string value: String) {
        // curl copies string options (since 7.17), so a temporary C string is enough.
        check(value.withCString { ccurl_easy_setopt_pointer(handle, option, $0) }, "option \(option.rawValue)")
    }

    private func set(_ option: CURLoption, pointer value: UnsafeRawPointer?) {
        check(ccurl_easy_setopt_pointer(handle, option, value), "option \(option.rawValue)")
    }

    /// Setting a known option with a valid value cannot fail except for lack of memory or a
    /// libcurl built without the feature: a programming or installation error, not a request error.
    private func check(_ code: CURLcode, _ what: String) {
        precondition(code == CURLE_OK, "curl_easy_setopt(\(what)) failed: \(String(cString: ccurl_easy_strerror(code)))")
    }

    // MARK: - Result

    private func finish(_ code: CURLcode, request: HTTPRequest, context: TransferContext) -> Result<HTTPResponse, HTTPError> {
        let requestID = HTTPHeaders(context.headerFields)["x-amz-request-id"]
        func failure(_ kind: HTTPError.Kind, _ message: String, curl: Bool = true) -> Result<HTTPResponse, HTTPError> {
            .failure(
                HTTPError(
                    kind: kind, message: message, method: request.method.rawValue, url: request.url,
                    curlCode: curl ? Int32(bitPattern: code.rawValue) : nil, requestID: requestID))
        }
        guard code == CURLE_OK else {
            if let bodyFailure = context.bodyFailure { return failure(.bodyRead, bodyFailure) }
            if context.responseTooLarge {
                return failure(.responseTooLarge, "response body larger than \(context.maximumResponseBodyBytes) bytes")
            }
            if code == CURLE_ABORTED_BY_CALLBACK && context.cancellation.isSet {
                return failure(.cancelled, "cancelled")
            }
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: ccurl_easy_strerror(code)) : detail
            return failure(Self.kind(of: code), message)
        }
        var status = 0
        _ = ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var uploaded: curl_off_t = 0
        _ = ccurl_easy_getinfo_off_t(handle, CURLINFO_SIZE_UPLOAD_T, &uploaded)
        var seconds = 0.0
        _ = ccurl_easy_getinfo_double(handle, CURLINFO_TOTAL_TIME, &seconds)
        var connects = 0
        _ = ccurl_easy_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects)
        return .success(
            HTTPResponse(
                status: status, headers: HTTPHeaders(context.headerFields), body: context.responseBody,
                bytesSent: Int64(uploaded), totalSeconds: seconds, newConnections: connects))
    }

    static func kind(of code: CURLcode) -> HTTPError.Kind {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .timeout
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_PROXY:
            return .connect
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_USE_SSL_FAILED:
            return .tls
        case CURLE_READ_ERROR:
            return .bodyRead
        case CURLE_ABORTED_BY_CALLBACK:
            return .cancelled
        default:
            return .transfer
        }
    }
}

/// The state of one request while curl runs it. Only the thread in curl_easy_perform touches it
/// (curl calls every callback on that thread), and it outlives the call.
final class TransferContext {
    let body: HTTPBody
    /// Bytes of the body handed to curl so far (it moves back when curl rewinds).
    private var position: Int64 = 0
    /// Furthest position reported to `onBodyBytesSent` (a rewind is not reported twice).
    private var reported: Int64 = 0
    private(set) var bodyFailure: String?

    let maximumResponseBodyBytes: Int
    private(set) var responseBody: [UInt8] = []
    private(set) var responseTooLarge = false
    /// Fields of the latest response head (a `100 Continue` head is replaced by the final one).
    private(set) var headerFields: [(name: String, value: String)] = []
    /// The latest response head's status (from its status line).
    private var status = 0
    /// Takes a 2xx body instead of `responseBody` (a download streamed to a file).
    var responseSink: (@Sendable (UnsafeRawBufferPointer) -> Void)?

    let cancellation: StopFlag
    let onBodyBytesSent: (@Sendable (Int) -> Void)?
    /// May block: while it does, curl gets no more body bytes (this is how a bandwidth limit holds).
    let throttle: (@Sendable (Int) -> Void)?

    init(
        body: HTTPBody, maximumResponseBodyBytes: Int, cancellation: StopFlag,
        onBodyBytesSent: (@Sendable (Int) -> Void)?, throttle: (@Sendable (Int) -> Void)? = nil
    ) {
        self.body = body
        self.maximumResponseBodyBytes = maximumResponseBodyBytes
        self.cancellation = cancellation
        self.onBodyBytesSent = onBodyBytesSent
        self.throttle = throttle
    }

    private static func from(_ pointer: UnsafeMutableRawPointer?) -> TransferContext {
        Unmanaged<TransferContext>.fromOpaque(pointer!).takeUnretainedValue()
    }

    // MARK: Body (upload)

    static let readCallback: curl_read_callback = { buffer, size, count, userdata in
        from(userdata).read(into: UnsafeMutableRawPointer(buffer!), capacity: size * count)
    }

    private func read(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int {
        let remaining = body.length - position
        let want = Int(min(Int64(capacity), remaining))
        guard want > 0 else { return 0 }
        var got = 0
        switch body {
        case .none:
            return 0
        case .bytes(let bytes):
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: source.baseAddress! + Int(position), byteCount: want)
            }
            got = want
        case .file(let descriptor, let offset, let length):
            while true {
                let n = pread(descriptor, buffer, want, off_t(offset + position))
                if n > 0 {
                    got = n
                    break
                }
                if n == 0 {
                    bodyFailure = "the file ended at byte \(offset + position), before the \(length) bytes from offset \(offset) were read (it shrank)"
                    return Int(CURL_READFUNC_ABORT)
                }
                if errno == EINTR { continue }
                bodyFailure = "reading the file at offset \(offset + position): \(String(cString: strerror(errno))) (errno \(errno))"
                return Int(CURL_READFUNC_ABORT)
            }
        }
        // Before curl sends them: a blocking throttle delays these bytes, not the next ones. A
        // cancelled transfer skips it (curl notices the flag at its next progress call).
        if let throttle, !cancellation.isSet { throttle(got) }
        position += Int64(got)
        if position > reported {
            onBodyBytesSent?(Int(position - reported))
            reported = position
        }
        return got
    }

    static let seekCallback: curl_seek_callback = { userdata, offset, origin in
        from(userdata).seek(to: Int64(offset), origin: origin)
    }

    /// curl rewinds the body to resend it (e.g. after a redirect or an auth retry): only SEEK_SET.
    private func seek(to offset: Int64, origin: Int32) -> Int32 {
        guard origin == SEEK_SET, offset >= 0, offset <= body.length else { return Int32(CURL_SEEKFUNC_CANTSEEK) }
        position = offset
        return Int32(CURL_SEEKFUNC_OK)
    }

    // MARK: Response

    static let writeCallback: curl_write_callback = { data, size, count, userdata in
        from(userdata).receive(UnsafeRawBufferPointer(start: data, count: size * count))
    }

    private func receive(_ bytes: UnsafeRawBufferPointer) -> Int {
        if let responseSink, (200..<300).contains(status) {
            responseSink(bytes)
            return bytes.count
        }
        guard responseBody.count + bytes.count <= maximumResponseBodyBytes else {
            responseTooLarge = true
            return 0 // curl fails the transfer with CURLE_WRITE_ERROR
        }
        responseBody.append(contentsOf: bytes)
        return bytes.count
    }

    static let headerCallback: curl_write_callback = { data, size, count, userdata in
        from(userdata).header(UnsafeRawBufferPointer(start: data, count: size * count))
    }

    /// One header line per call, with its CRLF. A status line starts a new response head.
    private func header(_ line: UnsafeRawBufferPointer) -> Int {
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headerFields.removeAll()
            status = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        } else if let colon = text.firstIndex(of: ":") {
            let name = Self.trimmed(text[..<colon])
            let value = Self.trimmed(text[text.index(after: colon)...])
            headerFields.append((name: name, value: value))
        }
        return line.count
    }

    private static func trimmed(_ text: Substring) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
        guard let first = text.firstIndex(where: { !blank($0) }), let last = text.lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(text[first...last])
    }

    // MARK: Cancellation

    static let progressCallback: curl_xferinfo_callback = { userdata, _, _, _, _ in
        from(userdata).cancellation.isSet ? 1 : 0
    }
}
