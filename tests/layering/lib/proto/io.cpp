// Sans-I/O cores may not include libuv or BoringSSL.
#include <uv.h>
#include <openssl/sha.h>
#include "proto/ok.hpp"
