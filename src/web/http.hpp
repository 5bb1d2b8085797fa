// The HTTP exchange as the pages see it: a small Request and Response, with
// no Beast in sight. server.cpp (the only Beast translation unit) fills a
// Request from the wire and writes the Response back; everything else takes
// and returns these, so every page and every security rule is tested
// without a socket.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pb::web {

using Params = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method;         // "GET", "POST", ...
    std::string path;           // decoded path, without the query
    std::string query;          // raw, without '?'
    std::string content_type;   // of the body
    std::string cookie;         // the Cookie header, as sent
    std::string authorization;  // the Authorization header (API tokens), as sent
    std::string body;
    std::string host;     // the Host header, as sent ("" when none)
    std::string client;   // the peer's address: the key of login throttling
    bool secure = false;  // arrived over TLS

    // Query and form parameters. A name sent twice keeps its first value.
    std::optional<std::string> param(std::string_view name) const;
    std::optional<std::string> form(std::string_view name) const;
    std::optional<std::string> cookie_value(std::string_view name) const;
};

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    // Replaces a header of that name, or adds it.
    Response& set(std::string_view name, std::string value);
    // Adds one more (Set-Cookie may repeat).
    Response& add(std::string_view name, std::string value);
    const std::string* header(std::string_view name) const;

    static Response html(std::string body, int status = 200);
    static Response json(std::string body, int status = 200);
    // 303 See Other: the browser follows with a GET, so a reload after a
    // form never posts it again.
    static Response redirect(std::string location);
    static Response text(int status, std::string body);
};

// application/x-www-form-urlencoded (and query strings). Broken escapes make
// the whole input unreadable: nullopt, never a half-read form.
std::optional<Params> parse_form(std::string_view text);
std::string url_encode(std::string_view text);
// Percent-decodes a path; nullopt on a broken escape or an encoded NUL.
std::optional<std::string> decode_path(std::string_view path);

// The name in a Host header, without its port, in lowercase and without a
// final dot; "" for an IP literal (v4, or v6 in brackets) or no header at
// all; nullopt when it is neither a name nor an address.
std::optional<std::string> host_name(std::string_view host);

std::string_view reason_phrase(int status) noexcept;

}  // namespace pb::web
