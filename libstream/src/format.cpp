#include "sluice/format.hpp"

#include <cstdint>

namespace sluice::format {

namespace {

/// Length of the valid UTF-8 sequence at the start of `s` (2 to 4 bytes), or
/// 0 when it is not one (a stray continuation byte, an overlong form, a
/// surrogate, beyond U+10FFFF, or cut short).
size_t utf8_sequence(std::string_view s) noexcept {
  const auto b = [&](size_t i) {
    return static_cast<unsigned char>(s[i]);
  };
  const unsigned char c = b(0);
  size_t n = 0;
  uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, cp = c & 0x1fu;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, cp = c & 0x0fu;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, cp = c & 0x07u;
  else
    return 0;
  if (s.size() < n)
    return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0u) != 0x80u)
      return 0;
    cp = (cp << 6) | (b(i) & 0x3fu);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

}  // namespace

// Quotes, backslashes and control characters are escaped; valid UTF-8 passes
// through; every byte that is not part of valid UTF-8 is escaped as the code
// point of the same value (U+0080..U+00FF, so the bytes can be recovered), so
// the result is valid JSON whatever `s` holds (dead letters of binary input,
// log lines).
void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (const size_t n = utf8_sequence(s.substr(i)); n > 0) {
        out.append(s.substr(i, n));
        i += n;
      } else {
        fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        else
          out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

void append_csv_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += s;
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"')
      out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace sluice::format

namespace sluice {

std::string to_json_line(const dead_letter& d) {
  return format::to_json(d);
}

}  // namespace sluice
