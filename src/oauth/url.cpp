#include "oauth/url.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "core/form.hpp"
#include "core/text.hpp"

namespace pb::oauth {
namespace {

// Four decimal octets, no leading '+', no empty parts: inet_aton's looser
// forms ("127.1", "0x7f.1") are refused so that what we test is what we show.
std::optional<std::array<int, 4>> dotted_quad(std::string_view s) {
    std::array<int, 4> parts{};
    for (std::size_t i = 0; i < 4; ++i) {
        const auto dot = s.find('.');
        const std::string_view part = (i < 3) ? s.substr(0, dot) : s;
        if (part.empty() || part.size() > 3 || (i < 3 && dot == std::string_view::npos)) return {};
        int v = 0;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (ec != std::errc{} || end != part.data() + part.size() || v > 255) return {};
        parts[i] = v;
        if (i < 3) s.remove_prefix(dot + 1);
    }
    return parts;
}

}  // namespace

std::optional<Url> parse_url(std::string_view text) {
    const auto colon = text.find("://");
    if (colon == std::string_view::npos) return {};
    Url url;
    url.scheme = lower(text.substr(0, colon));
    if (url.scheme != "https" && url.scheme != "http") return {};
    std::string_view rest = text.substr(colon + 3);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos)
        rest = rest.substr(0, hash);
    const auto auth_end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, auth_end);
    rest = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return {};
    if (std::any_of(text.begin(), text.end(),
                    [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }))
        return {};

    std::string_view host = authority;
    std::string_view port;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) return {};
        host = authority.substr(1, close - 1);
        const auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return {};
            port = after.substr(1);
        }
    } else if (const auto c = authority.rfind(':'); c != std::string_view::npos) {
        host = authority.substr(0, c);
        port = authority.substr(c + 1);
    }
    if (host.empty()) return {};
    if (!port.empty()) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
        if (ec != std::errc{} || end != port.data() + port.size() || v == 0 || v > 65535) return {};
    }
    url.host = lower(host);
    url.port = std::string(port);
    const auto q = rest.find('?');
    url.path = std::string(rest.substr(0, q));
    if (q != std::string_view::npos) url.query = std::string(rest.substr(q + 1));
    return url;
}

bool is_loopback_host(std::string_view host) {
    const std::string h = lower(host);
    if (h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1") return true;
    const auto quad = dotted_quad(h);
    return quad && (*quad)[0] == 127;
}

Result<Url> require_secure_endpoint(std::string_view url, std::string_view what) {
    auto parsed = parse_url(url);
    if (!parsed)
        return fail(Errc::identity_provider_config,
                    std::string(what) + " is not an absolute http(s) URL: " + std::string(url));
    if (parsed->scheme != "https" && !is_loopback_host(parsed->host))
        return fail(
            Errc::identity_provider_config,
            std::string(what) +
                " must use HTTPS (plain HTTP is allowed only on loopback): " + std::string(url));
    return std::move(*parsed);
}

// The codec itself is core/form.hpp, shared with Web Config's forms.
void form_encode_to(std::string_view text, std::string& out) {
    form::encode_to(text, out);
}

std::string form_encode(std::string_view text) {
    return form::encode(text);
}

std::optional<std::string> form_decode(std::string_view text) {
    return form::decode(text);
}

std::optional<Params> parse_form(std::string_view text) {
    return form::parse(text);
}

std::optional<std::string> param(const Params& params, std::string_view name) {
    return form::only(params, name);
}

}  // namespace pb::oauth
