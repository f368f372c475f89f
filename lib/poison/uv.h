#error "lib/proto is sans-I/O: it cannot include <uv.h>"
