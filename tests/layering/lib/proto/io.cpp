// Sans-I/O cores may not include libuv or BoringSSL.
#include <openssl/sha.h>
#include <uv.h>
#include "proto/ok.hpp"
