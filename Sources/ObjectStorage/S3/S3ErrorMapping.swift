import CurlHTTP

/// Turns a non-2xx S3 response into an ``S3Error`` whose message names the problem.
enum S3ErrorMapping {
    static let throttlingCodes: Set<String> = [
        "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests",
        "RequestThrottled", "ProvisionedThroughputExceededException"
    ]
    static let checksumCodes: Set<String> = ["BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"]

    static func error(
        for response: HTTPResponse, method: String, url: String, key: String?, bucket: String,
        accessKeyID: String
    ) -> S3Error {
        let xml = response.body.isEmpty ? nil : S3XMLNode.parse(response.body)
        let code = xml?.string("Code").flatMap { $0.isEmpty ? nil : $0 }
        let serverMessage = xml?.string("Message").flatMap { $0.isEmpty ? nil : $0 }
        let requestID = response.requestID ?? xml?.string("RequestId")
        let status = response.status
        let resource = key.map { "key \($0) in bucket \(bucket)" } ?? "bucket \(bucket)"

        let kind: S3Error.Kind
        var message: String
        switch (status, code) {
        case (_, "SignatureDoesNotMatch"?):
            kind = .authentication
            message =
                "the request signature does not match: the secret access key is not the one of access key id "
                + "\(accessKeyID) (or the request was changed on the way)"
        case (_, "InvalidAccessKeyId"?):
            kind = .authentication
            message = "the server does not know access key id \(accessKeyID)"
        case (_, "RequestTimeTooSkewed"?):
            kind = .authentication
            message = "the local clock differs too much from the server's (more than 15 minutes): fix the clock (NTP)"
        case (_, "ExpiredToken"?), (_, "InvalidToken"?), (_, "TokenRefreshRequired"?):
            kind = .authentication
            message = "the session token is expired or invalid"
        case (_, "AuthorizationHeaderMalformed"?), (_, "AuthorizationQueryParametersError"?):
            kind = .authentication
            message = "the server rejected the signature's form (often: the wrong region for this bucket)"
        case (_, "AccessDenied"?):
            kind = .authentication
            message = "access denied: access key id \(accessKeyID) may not \(method) \(resource) (or its signature is wrong)"
        case (401, _), (403, _):
            kind = .authentication
            message =
                code == nil
                ? "HTTP \(status) without an error body (as for HEAD): a wrong secret key, an unknown access key id "
                    + "\(accessKeyID), or no permission for \(resource)"
                : "refused: \(code!)"
        case (404, _):
            kind = .notFound
            switch code {
            case "NoSuchBucket"?: message = "no such bucket \(bucket)"
            case "NoSuchUpload"?: message = "no such multipart upload (aborted or completed) for \(resource)"
            default: message = key.map { "no such key \($0) in bucket \(bucket)" } ?? "no such bucket \(bucket)"
            }
        case (429, _), (503, "SlowDown"?):
            kind = .throttled
            message = "the server asks to slow down"
        case (_, let code?) where throttlingCodes.contains(code):
            kind = .throttled
            message = "the server asks to slow down"
        case (_, let code?) where checksumCodes.contains(code):
            kind = .checksumMismatch
            message = "the server received different bytes than were declared for \(resource)"
        case (500..., _):
            kind = .server
            message = "server error HTTP \(status)"
        default:
            kind = .rejected
            message = "refused with HTTP \(status)" + (code.map { " \($0)" } ?? "")
        }
        if let serverMessage { message += "; the server says: \(serverMessage)" }
        return S3Error(
            kind: kind, message: message, code: code, httpStatus: status, requestID: requestID,
            method: method, url: url)
    }
}
