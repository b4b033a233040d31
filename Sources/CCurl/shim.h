// libcurl's declarations (Debian: libcurl4-openssl-dev). Not linked: CCurlShims loads the library
// when it is first needed, and every call goes through its wrappers.
#include <curl/curl.h>
