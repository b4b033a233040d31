#include "CCurlShims.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;
static const char *load_error = "libcurl was not loaded";
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        // (dlerror's text lives in a buffer that the next dl call may reuse.)
        static char text[512];
        snprintf(text, sizeof text, "%s", dlerror());
        load_error = text;
        return;
    }
#define SYMBOL(field, name) \
    if ((*(void **)&curl.field = dlsym(lib, name)) == NULL) { load_error = "libcurl.so.4 lacks " name; return; }
    SYMBOL(global_init, "curl_global_init")
    SYMBOL(easy_init, "curl_easy_init")
    SYMBOL(easy_cleanup, "curl_easy_cleanup")
    SYMBOL(easy_reset, "curl_easy_reset")
    SYMBOL(easy_perform, "curl_easy_perform")
    SYMBOL(easy_strerror, "curl_easy_strerror")
    SYMBOL(easy_setopt, "curl_easy_setopt")
    SYMBOL(easy_getinfo, "curl_easy_getinfo")
    SYMBOL(slist_append, "curl_slist_append")
    SYMBOL(slist_free_all, "curl_slist_free_all")
#undef SYMBOL
    load_error = NULL;
}

const char *ccurl_load(void) {
    pthread_once(&load_once, load);
    return load_error;
}

// The rest may be called only once ccurl_load() returned NULL.
CURLcode ccurl_global_init(long flags) { return curl.global_init(flags); }
CURL *ccurl_easy_init(void) { return curl.easy_init(); }
void ccurl_easy_cleanup(CURL *handle) { curl.easy_cleanup(handle); }
void ccurl_easy_reset(CURL *handle) { curl.easy_reset(handle); }
CURLcode ccurl_easy_perform(CURL *handle) { return curl.easy_perform(handle); }
const char *ccurl_easy_strerror(CURLcode code) { return curl.easy_strerror(code); }
struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *string) { return curl.slist_append(list, string); }
void ccurl_slist_free_all(struct curl_slist *list) { curl.slist_free_all(list); }

// An option's number is its type's base (CURLOPTTYPE_*) plus a small index.
static int option_type(CURLoption option) { return ((int)option / 10000) * 10000; }

CURLcode ccurl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    if (option_type(option) != CURLOPTTYPE_LONG) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    if (option_type(option) != CURLOPTTYPE_OFF_T) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_pointer(CURL *handle, CURLoption option, const void *value) {
    if (option_type(option) != CURLOPTTYPE_OBJECTPOINT) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_setopt(handle, option, value);
}

CURLcode ccurl_easy_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback callback) {
    if (option != CURLOPT_WRITEFUNCTION && option != CURLOPT_HEADERFUNCTION) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_setopt(handle, option, callback);
}

CURLcode ccurl_easy_setopt_read_callback(CURL *handle, CURLoption option, curl_read_callback callback) {
    if (option != CURLOPT_READFUNCTION) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_setopt(handle, option, callback);
}

CURLcode ccurl_easy_setopt_seek_callback(CURL *handle, CURLoption option, curl_seek_callback callback) {
    if (option != CURLOPT_SEEKFUNCTION) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_setopt(handle, option, callback);
}

CURLcode ccurl_easy_setopt_xferinfo_callback(CURL *handle, CURLoption option, curl_xferinfo_callback callback) {
    if (option != CURLOPT_XFERINFOFUNCTION) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_setopt(handle, option, callback);
}

static int info_type(CURLINFO info) { return (int)info & CURLINFO_TYPEMASK; }

CURLcode ccurl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    if (info_type(info) != CURLINFO_LONG) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_getinfo(handle, info, value);
}

CURLcode ccurl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    if (info_type(info) != CURLINFO_DOUBLE) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_getinfo(handle, info, value);
}

CURLcode ccurl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    if (info_type(info) != CURLINFO_OFF_T) return CURLE_BAD_FUNCTION_ARGUMENT;
    return curl.easy_getinfo(handle, info, value);
}

CURLcode ccurl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value) {
    if (info_type(info) != CURLINFO_STRING) return CURLE_BAD_FUNCTION_ARGUMENT;
    char *out = NULL;
    CURLcode code = curl.easy_getinfo(handle, info, &out);
    *value = out;
    return code;
}
