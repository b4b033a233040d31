// libcurl (Debian: libcurl4-openssl-dev). curl_easy_setopt and curl_easy_getinfo are variadic and
// so unavailable from Swift: use the typed wrappers in CCurlShims.
#include <curl/curl.h>
