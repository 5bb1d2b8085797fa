// Byte encodings used across postbridge: base64 (RFC 4648 sections 4 and 5)
// and hex. The encoders are the hot path of attachment streaming, so they
// work on spans and append to a caller's buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pb {

inline std::span<const std::byte> as_bytes(std::string_view s) noexcept {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

constexpr std::size_t base64_encoded_size(std::size_t n) noexcept {
    return (n + 2) / 3 * 4;
}

// Appends the base64 of `in` to `out` (with '=' padding).
void base64_append(std::span<const std::byte> in, std::string& out);
// Writes exactly base64_encoded_size(in.size()) characters to `out`.
void base64_encode_to(std::span<const std::byte> in, char* out) noexcept;

std::string base64_encode(std::span<const std::byte> in);
inline std::string base64_encode(std::string_view s) {
    return base64_encode(as_bytes(s));
}
std::string base64url_encode(std::span<const std::byte> in);  // no padding
inline std::string base64url_encode(std::string_view s) {
    return base64url_encode(as_bytes(s));
}

// Strict decoders: nullopt on any character outside the alphabet or bad
// padding. base64_decode takes padded input; base64url_decode takes it with
// or without padding.
std::optional<std::string> base64_decode(std::string_view in);
std::optional<std::string> base64url_decode(std::string_view in);

std::string hex_encode(std::span<const std::byte> in);
std::optional<std::vector<std::byte>> hex_decode(std::string_view in);

}  // namespace pb
