// The form codec (see form.hpp).
#include "core/form.hpp"

namespace pb::form {
namespace {

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

void encode_to(std::string_view text, std::string& out) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : text) {
        if (is_unreserved(ch)) {
            out.push_back(ch);
            continue;
        }
        const auto c = static_cast<unsigned char>(ch);
        out.push_back('%');
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
}

std::string encode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    encode_to(text, out);
    return out;
}

std::optional<std::string> decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size()) return std::nullopt;
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::optional<Params> parse(std::string_view text) {
    Params out;
    while (!text.empty()) {
        const auto amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        auto name = decode(pair.substr(0, eq));
        auto value =
            decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

std::optional<std::string> first(const Params& params, std::string_view name) {
    for (const auto& [k, v] : params)
        if (k == name) return v;
    return std::nullopt;
}

std::optional<std::string> only(const Params& params, std::string_view name) {
    std::optional<std::string> found;
    for (const auto& [k, v] : params) {
        if (k != name) continue;
        if (found) return std::nullopt;
        found = v;
    }
    return found;
}

}  // namespace pb::form
