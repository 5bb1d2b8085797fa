// ASCII text helpers for protocol code: SMTP keywords, header names, POP3
// replies and settings are ASCII and case-insensitive by their RFCs, and
// none of it may depend on the process's locale (std::tolower does).
#pragma once

#include <algorithm>
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

}  // namespace pb
