// file.cpp: see file.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace sluice {

bool read_file(const std::string& path, std::string* out) noexcept {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = false;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    try {
      std::string text;
      text.reserve(static_cast<size_t>(st.st_size));
      char buf[16384];
      for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        if (n == 0) {
          *out = std::move(text);
          ok = true;
          break;
        }
        text.append(buf, static_cast<size_t>(n));
      }
    } catch (...) {  // bad_alloc
      ok = false;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace sluice
