// config/json_position.cpp: see json_position.hpp.
//
// Copyright 2026 the sluice authors. Apache-2.0.
#include "config/json_position.hpp"

#include <string>

namespace sluice::config {

TextPosition position_of_offset(std::string_view text, size_t offset) noexcept {
  TextPosition p{1, 1};
  if (offset > text.size()) offset = text.size();
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

namespace {

// Scanner walks text that the JSON parser accepted (with comments). It
// reads comments as that parser does (`//` ends at a line feed or a
// carriage return) and, should it still meet something it cannot read,
// gives up rather than loop: every step consumes a byte or fails.
class Scanner {
 public:
  explicit Scanner(std::string_view t) noexcept : t_(t) {}

  size_t pos() const noexcept { return i_; }
  bool at_end() const noexcept { return i_ >= t_.size(); }
  char peek() const noexcept { return at_end() ? '\0' : t_[i_]; }
  void advance() noexcept { ++i_; }

  // skip_space skips white space and comments.
  void skip_space() noexcept {
    while (!at_end()) {
      const char c = t_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i_;
      } else if (c == '/' && i_ + 1 < t_.size() && t_[i_ + 1] == '/') {
        while (!at_end() && t_[i_] != '\n' && t_[i_] != '\r') ++i_;
      } else if (c == '/' && i_ + 1 < t_.size() && t_[i_ + 1] == '*') {
        const size_t end = t_.find("*/", i_ + 2);
        i_ = end == std::string_view::npos ? t_.size() : end + 2;
      } else {
        return;
      }
    }
  }

  // string reads a string token at pos() into |out| (escapes of one
  // character decoded; \u escapes kept verbatim, so such keys never match).
  bool string(std::string* out) {
    if (peek() != '"') return false;
    ++i_;
    while (!at_end()) {
      const char c = t_[i_++];
      if (c == '"') return true;
      if (c == '\\' && !at_end()) {
        const char e = t_[i_++];
        switch (e) {
          case 'n':
            out->push_back('\n');
            break;
          case 't':
            out->push_back('\t');
            break;
          case 'r':
            out->push_back('\r');
            break;
          case 'b':
            out->push_back('\b');
            break;
          case 'f':
            out->push_back('\f');
            break;
          case 'u':
            out->append("\\u");
            break;
          default:
            out->push_back(e);
        }
        continue;
      }
      out->push_back(c);
    }
    return false;
  }

  // skip_value skips one value of any nesting, iteratively.
  bool skip_value() noexcept {
    size_t depth = 0;
    do {
      skip_space();
      if (at_end()) return false;
      const char c = t_[i_];
      if (c == '"') {
        ++i_;
        while (!at_end() && t_[i_] != '"') i_ += t_[i_] == '\\' ? 2 : 1;
        if (at_end()) return false;
        ++i_;
      } else if (c == '{' || c == '[') {
        ++depth;
        ++i_;
      } else if (c == '}' || c == ']') {
        if (depth == 0) return false;
        --depth;
        ++i_;
      } else if (c == ',' || c == ':') {
        ++i_;
      } else {
        // A scalar; a '/' that starts no comment is not one.
        const size_t from = i_;
        while (!at_end() && std::string_view(",]} \t\r\n/").find(t_[i_]) == std::string_view::npos)
          ++i_;
        if (i_ == from) return false;
      }
    } while (depth > 0);
    return true;
  }

 private:
  std::string_view t_;
  size_t i_ = 0;
};

bool starts_component(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  if (path.size() == prefix.size() || prefix.empty()) return true;
  return path[prefix.size()] == '.' || path[prefix.size()] == '[';
}

}  // namespace

bool locate_path(std::string_view text, std::string_view path, TextPosition* out) noexcept {
  // The parser reads a NUL byte as the end of the document.
  text = text.substr(0, text.find('\0'));
  try {
    Scanner s(text);
    std::string cur;  // the path of the value at s.pos()
    for (;;) {
      s.skip_space();
      if (s.at_end()) return false;
      if (cur == path) {
        *out = position_of_offset(text, s.pos());
        return true;
      }
      const char open = s.peek();
      if (open != '{' && open != '[') return false;
      s.advance();
      const size_t base = cur.size();
      bool entered = false;
      for (size_t index = 0;; ++index) {
        s.skip_space();
        if (s.peek() == '}' || s.peek() == ']') return false;
        cur.resize(base);
        if (open == '{') {
          std::string key;
          if (!s.string(&key)) return false;
          if (!cur.empty()) cur += '.';
          cur += key;
          s.skip_space();
          if (s.peek() != ':') return false;
          s.advance();
        } else {
          cur += '[' + std::to_string(index) + ']';
        }
        if (starts_component(path, cur)) {
          entered = true;
          break;
        }
        if (!s.skip_value()) return false;
        s.skip_space();
        if (s.peek() != ',') return false;
        s.advance();
      }
      if (!entered) return false;
    }
  } catch (...) {  // bad_alloc
    return false;
  }
}

}  // namespace sluice::config
