#include "mime/punycode.hpp"

#include <cstdint>
#include <limits>

#include "mime/utf8.hpp"

namespace pb::mime {
namespace {

// The parameters RFC 3492 section 5 fixes for IDNA.
constexpr std::uint32_t kBase = 36;
constexpr std::uint32_t kTMin = 1;
constexpr std::uint32_t kTMax = 26;
constexpr std::uint32_t kSkew = 38;
constexpr std::uint32_t kDamp = 700;
constexpr std::uint32_t kInitialBias = 72;
constexpr std::uint32_t kInitialN = 0x80;
constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();

char digit(std::uint32_t d) {
    return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26));
}

std::uint32_t adapt(std::uint32_t delta, std::uint32_t points, bool first) {
    delta = first ? delta / kDamp : delta / 2;
    delta += delta / points;
    std::uint32_t k = 0;
    while (delta > ((kBase - kTMin) * kTMax) / 2) {
        delta /= kBase - kTMin;
        k += kBase;
    }
    return k + (kBase - kTMin + 1) * delta / (delta + kSkew);
}

std::uint32_t threshold(std::uint32_t k, std::uint32_t bias) {
    return k <= bias ? kTMin : k >= bias + kTMax ? kTMax : k - bias;
}

Error overflow() {
    return fail(Errc::invalid_input, "domain label too long for punycode");
}

}  // namespace

Result<std::string> punycode_encode(std::u32string_view input) {
    std::string out;
    for (char32_t c : input)
        if (c < 0x80) out.push_back(static_cast<char>(c));
    const auto basic = static_cast<std::uint32_t>(out.size());
    std::uint32_t handled = basic;
    if (basic > 0) out.push_back('-');

    std::uint32_t n = kInitialN;
    std::uint32_t delta = 0;
    std::uint32_t bias = kInitialBias;
    const auto total = static_cast<std::uint32_t>(input.size());
    while (handled < total) {
        std::uint32_t m = kMax;
        for (char32_t c : input)
            if (c >= n && c < m) m = c;
        if (m - n > (kMax - delta) / (handled + 1)) return overflow();
        delta += (m - n) * (handled + 1);
        n = m;
        for (char32_t c : input) {
            if (c < n && ++delta == 0) return overflow();
            if (c != n) continue;
            std::uint32_t q = delta;
            for (std::uint32_t k = kBase;; k += kBase) {
                const std::uint32_t t = threshold(k, bias);
                if (q < t) break;
                out.push_back(digit(t + (q - t) % (kBase - t)));
                q = (q - t) / (kBase - t);
            }
            out.push_back(digit(q));
            bias = adapt(delta, handled + 1, handled == basic);
            delta = 0;
            ++handled;
        }
        ++delta;
        ++n;
    }
    return out;
}

Result<std::u32string> punycode_decode(std::string_view input) {
    const Error bad = fail(Errc::invalid_input, "invalid punycode");
    std::u32string out;
    std::size_t start = 0;
    if (const auto dash = input.rfind('-'); dash != std::string_view::npos) {
        for (std::size_t i = 0; i < dash; ++i) {
            if (static_cast<unsigned char>(input[i]) >= 0x80) return bad;
            out.push_back(static_cast<char32_t>(input[i]));
        }
        start = dash + 1;
    }
    std::uint32_t n = kInitialN;
    std::uint32_t i = 0;
    std::uint32_t bias = kInitialBias;
    std::size_t pos = start;
    while (pos < input.size()) {
        const std::uint32_t old_i = i;
        std::uint32_t w = 1;
        for (std::uint32_t k = kBase;; k += kBase) {
            if (pos >= input.size()) return bad;
            const char c = input[pos++];
            std::uint32_t d = 0;
            if (c >= 'a' && c <= 'z')
                d = static_cast<std::uint32_t>(c - 'a');
            else if (c >= 'A' && c <= 'Z')
                d = static_cast<std::uint32_t>(c - 'A');
            else if (c >= '0' && c <= '9')
                d = static_cast<std::uint32_t>(c - '0') + 26;
            else
                return bad;
            if (d > (kMax - i) / w) return bad;
            i += d * w;
            const std::uint32_t t = threshold(k, bias);
            if (d < t) break;
            if (w > kMax / (kBase - t)) return bad;
            w *= kBase - t;
        }
        const auto len = static_cast<std::uint32_t>(out.size() + 1);
        bias = adapt(i - old_i, len, old_i == 0);
        if (i / len > kMax - n) return bad;
        n += i / len;
        i %= len;
        if (n > 0x10FFFF || (n >= 0xD800 && n <= 0xDFFF)) return bad;
        out.insert(out.begin() + i, static_cast<char32_t>(n));
        ++i;
    }
    return out;
}

Result<std::string> domain_to_ascii(std::string_view utf8_domain) {
    std::string out;
    out.reserve(utf8_domain.size());
    std::size_t start = 0;
    while (start <= utf8_domain.size()) {
        auto dot = utf8_domain.find('.', start);
        if (dot == std::string_view::npos) dot = utf8_domain.size();
        const std::string_view label = utf8_domain.substr(start, dot - start);
        if (!out.empty() || start > 0) out.push_back('.');
        if (is_ascii(label)) {
            for (char c : label)
                out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
        } else {
            std::u32string cps = utf8_decode(label);
            for (char32_t& c : cps)
                if (c >= U'A' && c <= U'Z') c = c - U'A' + U'a';
            auto encoded = punycode_encode(cps);
            if (!encoded) return std::move(encoded).error();
            out += "xn--";
            out += *encoded;
        }
        start = dot + 1;
    }
    return out;
}

}  // namespace pb::mime
