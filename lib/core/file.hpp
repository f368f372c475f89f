// file.hpp: reading a whole (small) file named in a configuration: the
// configuration itself, keys, certificates and CAs.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// Only regular files are read: a FIFO, directory, socket or device given as a
// path is refused at once (opening a FIFO would block until a writer comes;
// /dev/zero never ends), and a file larger than the caller's cap is refused
// before it is read into memory, so a bad path fails fast with a reason
// instead of hanging or exhausting memory.
#pragma once

#include <cstddef>
#include <string>

#include "sluice/error.hpp"

namespace sluice {

// kMaxConfigFileBytes caps a configuration, certificate, key or CA file
// (4 MiB: far above any real one, far below what would hurt to hold).
inline constexpr size_t kMaxConfigFileBytes = size_t{4} << 20;

// read_small_file returns the contents of the regular file |path|, at most
// |max_bytes| long. On failure it returns Errc::config_io and, if |why| is
// not null, sets it to "<path>: <reason>" (the OS error, "not a regular file
// (a FIFO)", "larger than 4 MiB", ...); Errc::no_memory if the buffer cannot
// be allocated.
Result<std::string> read_small_file(const std::string& path, size_t max_bytes, std::string* why);

// read_file replaces |out| with the contents of the regular file |path|
// (capped at kMaxConfigFileBytes); false (|out| untouched) when it is missing,
// not a regular file, too large, or cannot be read.
bool read_file(const std::string& path, std::string* out) noexcept;

}  // namespace sluice
