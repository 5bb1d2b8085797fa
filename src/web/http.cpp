// Request/Response helpers of the web pages; the form codec is core/form.hpp.
#include "web/http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>

#include "core/form.hpp"
#include "core/text.hpp"

namespace pb::web {
namespace {

std::optional<std::string> first(const std::optional<Params>& params, std::string_view name) {
    if (!params) return std::nullopt;
    for (const auto& [k, v] : *params)
        if (k == name) return v;
    return std::nullopt;
}

}  // namespace

std::optional<Params> parse_form(std::string_view text) {
    return form::parse(text);
}

std::string url_encode(std::string_view text) {
    return form::encode(text);
}

std::optional<std::string> decode_path(std::string_view path) {
    auto out = form::decode(path, false);
    if (!out || out->find('\0') != std::string::npos) return std::nullopt;
    return out;
}

std::optional<std::string> Request::param(std::string_view name) const {
    return first(parse_form(query), name);
}

std::optional<std::string> Request::form(std::string_view name) const {
    if (!content_type.starts_with("application/x-www-form-urlencoded")) return std::nullopt;
    return first(parse_form(body), name);
}

std::optional<std::string> Request::cookie_value(std::string_view name) const {
    std::string_view rest = cookie;
    while (!rest.empty()) {
        const auto semi = rest.find(';');
        std::string_view item = rest.substr(0, semi);
        rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        const auto eq = item.find('=');
        if (eq != std::string_view::npos && item.substr(0, eq) == name)
            return std::string(item.substr(eq + 1));
    }
    return std::nullopt;
}

Response& Response::set(std::string_view name, std::string value) {
    for (auto& [k, v] : headers) {
        if (iequals(k, name)) {
            v = std::move(value);
            return *this;
        }
    }
    return add(name, std::move(value));
}

Response& Response::add(std::string_view name, std::string value) {
    headers.emplace_back(std::string(name), std::move(value));
    return *this;
}

const std::string* Response::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (iequals(k, name)) return &v;
    return nullptr;
}

Response Response::html(std::string body, int status) {
    Response r{status, {}, std::move(body)};
    r.set("Content-Type", "text/html; charset=utf-8");
    return r;
}

Response Response::json(std::string body, int status) {
    Response r{status, {}, std::move(body)};
    r.set("Content-Type", "application/json");
    return r;
}

Response Response::redirect(std::string location) {
    Response r{303, {}, {}};
    r.set("Location", std::move(location));
    return r;
}

Response Response::text(int status, std::string body) {
    Response r{status, {}, std::move(body)};
    r.set("Content-Type", "text/plain; charset=utf-8");
    return r;
}

std::optional<std::string> host_name(std::string_view host) {
    const auto port_ok = [](std::string_view port) {
        return !port.empty() && port.size() <= 5 &&
               port.find_first_not_of("0123456789") == std::string_view::npos;
    };
    if (host.empty()) return std::string();
    if (host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string inside(host.substr(1, close - 1));
        const auto rest = host.substr(close + 1);
        in6_addr a6{};
        if (inet_pton(AF_INET6, inside.c_str(), &a6) != 1) return std::nullopt;
        if (!rest.empty() && !(rest.front() == ':' && port_ok(rest.substr(1)))) return std::nullopt;
        return std::string();
    }
    auto name = host;
    if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        if (!port_ok(host.substr(colon + 1))) return std::nullopt;
        name = host.substr(0, colon);
    }
    if (name.ends_with('.')) name.remove_suffix(1);
    if (name.empty() || name.size() > 253 ||
        name.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            std::string_view::npos)
        return std::nullopt;
    in_addr a4{};
    if (inet_pton(AF_INET, std::string(name).c_str(), &a4) == 1) return std::string();
    return lower(name);
}

std::string_view reason_phrase(int status) noexcept {
    switch (status) {
        case 200:
            return "OK";
        case 303:
            return "See Other";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 413:
            return "Payload Too Large";
        case 429:
            return "Too Many Requests";
        case 500:
            return "Internal Server Error";
        default:
            return "";
    }
}

}  // namespace pb::web
