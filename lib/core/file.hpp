// file.hpp: reading a whole (small) file, for keys, certificates and CAs
// named by path in options.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#pragma once

#include <string>

namespace sluice {

// read_file replaces |out| with the contents of the regular file |path|;
// false (|out| untouched) when it is missing, not a regular file, or
// cannot be read.
bool read_file(const std::string& path, std::string* out) noexcept;

}  // namespace sluice
