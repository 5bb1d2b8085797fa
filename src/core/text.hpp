// ASCII text helpers for protocol code: SMTP keywords, header names, POP3
// replies and settings are ASCII and case-insensitive by their RFCs, and
// none of it may depend on the process's locale (std::tolower does).
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace pb {

constexpr char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr char ascii_upper(char c) noexcept {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// Equal but for the case of ASCII letters.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Without the spaces and tabs at either end.
constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Where the next CR or LF is at or after `from`, or s.size(): the end of
// a run of line content that a line-oriented filter may copy as it is,
// rather than byte by byte (message data is mostly such runs).
constexpr std::size_t next_line_break(std::string_view s, std::size_t from) noexcept {
    for (; from < s.size(); ++from)
        if (s[from] == '\r' || s[from] == '\n') break;
    return from;
}

// ASCII letters lowercased; every other byte as it is.
inline std::string lower(std::string_view s) {
    std::string out(s);
    std::ranges::transform(out, out.begin(), ascii_lower);
    return out;
}

inline std::string upper(std::string_view s) {
    std::string out(s);
    std::ranges::transform(out, out.begin(), ascii_upper);
    return out;
}

// Printable ASCII, the space included; visible: without it.
constexpr bool ascii_print(char c) noexcept {
    return c >= 0x20 && c < 0x7f;
}
constexpr bool ascii_visible(char c) noexcept {
    return c > 0x20 && c < 0x7f;
}

// A peer's text made fit for an error, a log line or a transcript:
// printable ASCII kept, any other byte shown as '?', and cut after `max`
// bytes with "...".
inline std::string printable(std::string_view s, std::size_t max = std::string_view::npos) {
    std::string out;
    for (const char c : s.substr(0, max)) out += ascii_print(c) ? c : '?';
    if (s.size() > max) out += "...";
    return out;
}

// What a user typed, quoted in an error: control characters escaped (\r,
// \n, \xNN), so the detail can never carry a line break into a log or a
// page. Other bytes, UTF-8 included, stay as they are.
inline std::string escaped(std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u == 0x7F) {
            out += "\\x";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xF]);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

}  // namespace pb
