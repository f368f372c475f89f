// proto/parse_result.hpp: the tri-state answer of every incremental parser.
//
// Copyright 2026 the sluice authors. Apache-2.0.
//
// A sans-I/O parser is handed everything received so far (possibly one byte
// at a time) and answers one of:
//   need_more  the input is a valid prefix; nothing consumed (consumed == 0),
//              call again with more bytes appended;
//   done       |consumed| bytes form one complete frame, parsed into |value|;
//              bytes after them belong to the next phase;
//   error      the input can never become valid; |error| says why.
// Parsers never keep a pointer into the input unless the value type says so.
#pragma once

#include <cstddef>
#include <utility>

#include "sluice/error.hpp"

namespace sluice {

enum class ParseState : unsigned char { need_more, done, error };

template <typename T>
struct [[nodiscard]] ParseResult {
  ParseState state = ParseState::need_more;
  Errc error = Errc::ok;  // set only in the error state
  size_t consumed = 0;    // bytes of the frame; 0 unless done
  T value{};              // meaningful only when done

  static ParseResult more() { return ParseResult{}; }
  static ParseResult fail(Errc e) {
    ParseResult r;
    r.state = ParseState::error;
    r.error = e;
    return r;
  }
  static ParseResult ok(T v, size_t n) {
    ParseResult r;
    r.state = ParseState::done;
    r.consumed = n;
    r.value = std::move(v);
    return r;
  }

  bool done() const noexcept { return state == ParseState::done; }
  bool need_more() const noexcept { return state == ParseState::need_more; }
  bool failed() const noexcept { return state == ParseState::error; }
};

}  // namespace sluice
