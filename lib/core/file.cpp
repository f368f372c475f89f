// file.cpp: see file.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace sluice {

namespace {

const char* file_kind(mode_t m) noexcept {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a plain file";
}

std::string size_text(size_t n) {
  if (n % (size_t{1} << 20) == 0) return std::to_string(n >> 20) + " MiB";
  return std::to_string(n) + " bytes";
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::string> read_small_file(const std::string& path, size_t max_bytes, std::string* why) {
  auto fail = [&](const std::string& reason) -> Errc {
    if (why) *why = path + ": " + reason;
    return Errc::config_io;
  };
  try {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer; the
    // type check below refuses it before any read.
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)};
    if (f.fd < 0) return fail(std::strerror(errno));
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) return fail(std::strerror(errno));
    if (!S_ISREG(st.st_mode))
      return fail(std::string("not a regular file (") + file_kind(st.st_mode) + ")");
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
      return fail("larger than " + size_text(max_bytes));
    std::string text;
    text.resize(static_cast<size_t>(st.st_size));
    size_t have = 0;
    // Read until EOF: the file may have grown since fstat, but never past the cap.
    for (;;) {
      if (have == text.size()) {
        if (text.size() > max_bytes) return fail("larger than " + size_text(max_bytes));
        text.resize(std::min(max_bytes + 1, std::max<size_t>(text.size() * 2, 4096)));
      }
      const ssize_t n = ::read(f.fd, text.data() + have, text.size() - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(std::strerror(errno));
      if (n == 0) break;
      have += static_cast<size_t>(n);
    }
    if (have > max_bytes) return fail("larger than " + size_text(max_bytes));
    text.resize(have);
    return text;
  } catch (const std::bad_alloc&) {
    return Errc::no_memory;
  }
}

bool read_file(const std::string& path, std::string* out) noexcept {
  auto r = read_small_file(path, kMaxConfigFileBytes, nullptr);
  if (!r) return false;
  *out = std::move(*r);
  return true;
}

}  // namespace sluice
