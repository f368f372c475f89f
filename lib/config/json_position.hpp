// config/json_position.hpp: where in the JSON text a config path's value
// starts, so errors found after parsing can name a line and column. Private
// to lib/config.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// nlohmann::json keeps no source positions, and the checks that find most
// errors run on the parsed tree. Errors are rare, so instead of recording a
// position for every value the text is scanned again, once, on failure.
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice::config {

struct TextPosition {
  size_t line = 0;    // 1-based
  size_t column = 0;  // 1-based, in bytes
};

// position_of_offset converts a byte offset in |text| to a line and column.
TextPosition position_of_offset(std::string_view text, size_t offset) noexcept;

// locate_path finds the value named by |path| (as join_path and index_path
// spell it: "inbounds[0].listen_port") in |text|, a document nlohmann parsed
// with comments allowed. False when the path is not in the text (a synthetic
// path, or a key that appears more than once and was read from a later
// copy: the first copy is reported). Only containers on the path are
// entered; everything else is skipped without recursion, so any nesting
// depth is safe.
bool locate_path(std::string_view text, std::string_view path, TextPosition* out) noexcept;

}  // namespace sluice::config
