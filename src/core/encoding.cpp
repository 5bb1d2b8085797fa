#include "core/encoding.hpp"

#include <array>

namespace pb {
namespace {

constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// A 4096-entry table maps 12 input bits to two output characters at once,
// which roughly doubles throughput over the 64-entry table.
struct PairTable {
    std::array<std::uint16_t, 4096> v{};
    constexpr PairTable() {
        for (unsigned i = 0; i < 4096; ++i) {
            const auto hi = static_cast<unsigned char>(kStd[i >> 6]);
            const auto lo = static_cast<unsigned char>(kStd[i & 63]);
            // Stored in memory order (first character first) on little endian.
            v[i] = static_cast<std::uint16_t>(hi | (lo << 8));
        }
    }
};
constexpr PairTable kPairs;

constexpr std::array<std::int8_t, 256> make_decode(const char* alphabet) {
    std::array<std::int8_t, 256> t{};
    for (auto& x : t) x = -1;
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto kDecStd = make_decode(kStd);
constexpr auto kDecUrl = make_decode(kUrl);

std::optional<std::string> decode(std::string_view in, const std::array<std::int8_t, 256>& dec,
                                  bool padding_required) {
    std::size_t pad = 0;
    if (in.size() % 4 == 0 && !in.empty()) {
        if (in.back() == '=') ++pad;
        if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
    }
    if (padding_required && in.size() % 4 != 0) return std::nullopt;
    const std::string_view body = in.substr(0, in.size() - pad);
    if (body.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(body.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : body) {
        const int v = dec[static_cast<unsigned char>(c)];
        if (v < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    // Leftover bits must be zero (canonical encoding).
    if (bits > 0 && (acc & ((1U << bits) - 1)) != 0) return std::nullopt;
    return out;
}

}  // namespace

void base64_encode_to(std::span<const std::byte> in, char* out) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    std::size_t n = in.size();
    // Six input bytes -> eight output characters per step.
    while (n >= 6) {
        const std::uint32_t a = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
        const std::uint32_t b = (std::uint32_t{p[3]} << 16) | (std::uint32_t{p[4]} << 8) | p[5];
        const std::uint16_t w[4] = {kPairs.v[a >> 12], kPairs.v[a & 0xFFF], kPairs.v[b >> 12],
                                    kPairs.v[b & 0xFFF]};
        __builtin_memcpy(out, w, 8);
        p += 6;
        n -= 6;
        out += 8;
    }
    while (n >= 3) {
        const std::uint32_t a = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
        out[0] = kStd[a >> 18];
        out[1] = kStd[(a >> 12) & 63];
        out[2] = kStd[(a >> 6) & 63];
        out[3] = kStd[a & 63];
        p += 3;
        n -= 3;
        out += 4;
    }
    if (n == 1) {
        out[0] = kStd[p[0] >> 2];
        out[1] = kStd[(p[0] & 3) << 4];
        out[2] = '=';
        out[3] = '=';
    } else if (n == 2) {
        out[0] = kStd[p[0] >> 2];
        out[1] = kStd[((p[0] & 3) << 4) | (p[1] >> 4)];
        out[2] = kStd[(p[1] & 15) << 2];
        out[3] = '=';
    }
}

void base64_append(std::span<const std::byte> in, std::string& out) {
    const std::size_t at = out.size();
    out.resize(at + base64_encoded_size(in.size()));
    base64_encode_to(in, out.data() + at);
}

std::string base64_encode(std::span<const std::byte> in) {
    std::string out;
    base64_append(in, out);
    return out;
}

std::string base64url_encode(std::span<const std::byte> in) {
    std::string s = base64_encode(in);
    while (!s.empty() && s.back() == '=') s.pop_back();
    for (char& c : s) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return s;
}

std::optional<std::string> base64_decode(std::string_view in) {
    return decode(in, kDecStd, true);
}
std::optional<std::string> base64url_decode(std::string_view in) {
    return decode(in, kDecUrl, false);
}

std::string hex_encode(std::span<const std::byte> in) {
    static constexpr char d[] = "0123456789abcdef";
    std::string s;
    s.reserve(in.size() * 2);
    for (std::byte b : in) {
        const auto v = static_cast<unsigned>(b);
        s.push_back(d[v >> 4]);
        s.push_back(d[v & 15]);
    }
    return s;
}

std::optional<std::vector<std::byte>> hex_decode(std::string_view in) {
    if (in.size() % 2 != 0) return std::nullopt;
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::vector<std::byte> out;
    out.reserve(in.size() / 2);
    for (std::size_t i = 0; i < in.size(); i += 2) {
        const int h = nib(in[i]);
        const int l = nib(in[i + 1]);
        if (h < 0 || l < 0) return std::nullopt;
        out.push_back(static_cast<std::byte>((h << 4) | l));
    }
    return out;
}

}  // namespace pb
