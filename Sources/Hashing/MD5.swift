import COpenSSL

/// Streaming MD5 over OpenSSL's EVP interface. Not for security: S3 needs it where the protocol
/// does (the `Content-MD5` of DeleteObjects; the ETag of an object uploaded in one PUT is its MD5).
public final class MD5Hasher {
    private let digest = EVPDigest(EVP_md5(), length: 16)

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) { digest.update(bytes) }

    public func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        Array(bytes).withUnsafeBytes { digest.update($0) }
    }

    /// The 16 digest bytes; the hasher must not be used afterwards.
    public func finalize() -> [UInt8] { digest.finalize() }

    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        let hasher = MD5Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}
