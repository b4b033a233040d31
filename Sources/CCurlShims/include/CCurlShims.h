#ifndef CCURLSHIMS_H
#define CCURLSHIMS_H

// libcurl, loaded when first needed (dlopen of libcurl.so.4) rather than when the program starts:
// libcurl and the ~30 libraries it needs cost every start ~7 ms (measured: an empty C program
// linked with them against without), and only the S3 destination and the webhook use it. So
// every libcurl function is called through these wrappers, after ccurl_load().
//
// Typed, non-variadic wrappers for libcurl's variadic curl_easy_setopt and curl_easy_getinfo, which
// Swift cannot call. Each wrapper checks that the option (or info) is of the wrapper's type, so a
// long can never be passed where curl reads an off_t or a pointer: a mismatch returns
// CURLE_BAD_FUNCTION_ARGUMENT without calling curl.

#include <curl/curl.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Loads libcurl once (thread-safe). NULL when it is loaded, else why not (dlerror's text).
const char *ccurl_load(void);

CURLcode ccurl_global_init(long flags);
CURL *ccurl_easy_init(void);
void ccurl_easy_cleanup(CURL *handle);
void ccurl_easy_reset(CURL *handle);
CURLcode ccurl_easy_perform(CURL *handle);
const char *ccurl_easy_strerror(CURLcode code);
struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *string);
void ccurl_slist_free_all(struct curl_slist *list);

/// For options of type long (CURLOPTTYPE_LONG, CURLOPTTYPE_VALUES).
CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value);
/// For options of type off_t (CURLOPTTYPE_OFF_T), e.g. CURLOPT_INFILESIZE_LARGE.
CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
/// For strings (curl copies them), lists (struct curl_slist *), callback data and other objects.
CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value);
/// CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION.
CURLcode ccurl_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback callback);
/// CURLOPT_READFUNCTION.
CURLcode ccurl_easy_setopt_read_callback(CURL *handle, CURLoption option, curl_read_callback callback);
/// CURLOPT_SEEKFUNCTION.
CURLcode ccurl_easy_setopt_seek_callback(CURL *handle, CURLoption option, curl_seek_callback callback);
/// CURLOPT_XFERINFOFUNCTION.
CURLcode ccurl_easy_setopt_xferinfo_callback(CURL *handle, CURLoption option, curl_xferinfo_callback callback);

/// For CURLINFO_LONG infos, e.g. CURLINFO_RESPONSE_CODE.
CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
/// For CURLINFO_DOUBLE infos, e.g. CURLINFO_TOTAL_TIME.
CURLcode ccurl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value);
/// For CURLINFO_OFF_T infos, e.g. CURLINFO_SIZE_UPLOAD_T.
CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
/// For CURLINFO_STRING infos, e.g. CURLINFO_EFFECTIVE_URL. The string belongs to the handle.
CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);

#ifdef __cplusplus
}
#endif

#endif
