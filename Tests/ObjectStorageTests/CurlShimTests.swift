import CCurl
import CCurlShims
import CurlHTTP
import Testing

/// The typed setopt/getinfo wrappers refuse an option of another type instead of passing curl a
/// value it would read as something else.
@Suite("CCurlShims")
struct CurlShimTests {
    @Test("each wrapper accepts its own option type and refuses the others")
    func typeChecks() throws {
        #expect(ccurl_load() == nil, "libcurl.so.4 loads")
        let handle = try #require(ccurl_easy_init())
        defer { ccurl_easy_cleanup(handle) }
        #expect(ccurl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1) == CURLE_OK)
        #expect(ccurl_easy_setopt_long(handle, CURLOPT_URL, 1) == CURLE_BAD_FUNCTION_ARGUMENT)
        #expect(ccurl_easy_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, 1 << 40) == CURLE_OK)
        #expect(ccurl_easy_setopt_off_t(handle, CURLOPT_INFILESIZE, 1) == CURLE_BAD_FUNCTION_ARGUMENT)
        #expect("http://127.0.0.1/".withCString { ccurl_easy_setopt_pointer(handle, CURLOPT_URL, $0) } == CURLE_OK)
        #expect(ccurl_easy_setopt_pointer(handle, CURLOPT_TIMEOUT, nil) == CURLE_BAD_FUNCTION_ARGUMENT)
        #expect(ccurl_easy_setopt_read_callback(handle, CURLOPT_WRITEFUNCTION, nil) == CURLE_BAD_FUNCTION_ARGUMENT)

        var url: UnsafePointer<CChar>?
        #expect(ccurl_easy_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK)
        var status = -1
        #expect(ccurl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
        #expect(status == 0)
        #expect(ccurl_easy_getinfo_long(handle, CURLINFO_TOTAL_TIME, &status) == CURLE_BAD_FUNCTION_ARGUMENT)
        var seconds = -1.0
        #expect(ccurl_easy_getinfo_double(handle, CURLINFO_TOTAL_TIME, &seconds) == CURLE_OK)
        var bytes: curl_off_t = -1
        #expect(ccurl_easy_getinfo_off_t(handle, CURLINFO_SIZE_UPLOAD_T, &bytes) == CURLE_OK)
        #expect(ccurl_easy_getinfo_off_t(handle, CURLINFO_SIZE_UPLOAD, &bytes) == CURLE_BAD_FUNCTION_ARGUMENT)
    }
}
