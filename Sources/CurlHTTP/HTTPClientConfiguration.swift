/// How an ``HTTPClient`` connects. TLS certificate and host verification are always on; there is no
/// switch to turn them off (use ``caBundlePath`` for a private CA).
public struct HTTPClientConfiguration: Sendable {
    /// Longest wait for a TCP (and TLS) connection.
    public var connectTimeoutSeconds: Int
    /// A transfer slower than `lowSpeedLimitBytesPerSecond` for `lowSpeedTimeSeconds` is a stall
    /// and fails with ``HTTPError/Kind/timeout``. Whole-request timeouts would fail big uploads on
    /// slow links; this catches a dead peer whatever the size.
    public var lowSpeedLimitBytesPerSecond: Int
    public var lowSpeedTimeSeconds: Int
    /// A bound on the whole request; nil for none (the default: see the low-speed limit).
    public var totalTimeoutSeconds: Int?
    public var proxy: Proxy
    /// A PEM file of CA certificates to trust instead of the system's.
    public var caBundlePath: String?
    /// Response bodies larger than this fail with ``HTTPError/Kind/responseTooLarge``.
    public var maximumResponseBodyBytes: Int
    public var userAgent: String
    /// curl's upload buffer: how much one read of the body asks for (curl allows 16 KiB...2 MiB).
    public var uploadBufferBytes: Int

    /// Where requests go through.
    ///
    /// `.environment` is curl's default behaviour: it reads `http_proxy` (lower case only, since
    /// `HTTP_PROXY` can be set by a CGI client), `https_proxy`/`HTTPS_PROXY`, `all_proxy`/`ALL_PROXY`
    /// and `no_proxy`/`NO_PROXY` (a comma-separated list of hosts, domains or `*`).
    public enum Proxy: Sendable, Equatable {
        case environment
        /// No proxy, whatever the environment says.
        case none
        /// This proxy (`http://[user:password@]host:port`, `socks5h://…`), except for the hosts
        /// in `noProxy` (the `no_proxy` syntax; nil: the environment's `no_proxy`, if any).
        case url(String, noProxy: String? = nil)
    }

    public init(
        connectTimeoutSeconds: Int = 10, lowSpeedLimitBytesPerSecond: Int = 1,
        lowSpeedTimeSeconds: Int = 60, totalTimeoutSeconds: Int? = nil,
        proxy: Proxy = .environment, caBundlePath: String? = nil,
        maximumResponseBodyBytes: Int = 16 << 20, userAgent: String = "dji-media-sync",
        uploadBufferBytes: Int = 256 << 10
    ) {
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.lowSpeedLimitBytesPerSecond = lowSpeedLimitBytesPerSecond
        self.lowSpeedTimeSeconds = lowSpeedTimeSeconds
        self.totalTimeoutSeconds = totalTimeoutSeconds
        self.proxy = proxy
        self.caBundlePath = caBundlePath
        self.maximumResponseBodyBytes = maximumResponseBodyBytes
        self.userAgent = userAgent
        self.uploadBufferBytes = uploadBufferBytes
    }
}
