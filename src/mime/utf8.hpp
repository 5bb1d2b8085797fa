// UTF-8 checks shared by the address parser and the header encoders.
//
// Everything that reaches a header or a body is validated first: a message
// with a broken sequence is refused (652) rather than sent with mojibake that
// some servers reject mid-transfer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pb::mime {

// The length of the well-formed sequence starting at s[i] (1..4), or 0 when it
// is not well formed (overlong forms, surrogates and values past U+10FFFF
// included, as RFC 3629 requires).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

// The offset of the first malformed byte, or nullopt when all of s is UTF-8.
std::optional<std::size_t> utf8_error_offset(std::string_view s) noexcept;
inline bool is_utf8(std::string_view s) noexcept {
    return !utf8_error_offset(s).has_value();
}

inline bool is_ascii(std::string_view s) noexcept {
    for (char c : s)
        if (static_cast<unsigned char>(c) >= 0x80) return false;
    return true;
}

// The code points of valid UTF-8 (callers validate first).
std::u32string utf8_decode(std::string_view s);
void utf8_append(char32_t cp, std::string& out);

}  // namespace pb::mime
