// The HTTP the OAuth flows need, as an interface: a form POST or a GET to an
// identity provider, answered with a status and a body. The flows and the
// token manager depend on this, never on libcurl, so that tests drive them
// with scripted answers and counts (http_curl.hpp is the real edge).
//
// Request and response bodies are Secrets: a token request carries a refresh
// token or a code verifier, a token response carries the tokens. Only the
// URL is plain text, and by rule it never holds a credential (Graph's
// pre-authenticated upload URL is one: nothing logs a URL's query).
//
// Microsoft Graph (src/graph) uses the same client with a few more shapes:
// PUT and DELETE, a body of its own type streamed from a ByteSource (a
// message of 4 MB is never copied whole), extra headers (Content-Range), a
// timeout per request, and the Retry-After and Location of the answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/source.hpp"

namespace pb::oauth {

// An application/x-www-form-urlencoded body, built field by field.
class Form {
  public:
    Form& add(std::string_view name, std::string_view value);
    Form& add(std::string_view name, const Secret& value);
    // Skips the field when the value is empty (optional parameters).
    Form& add_if(std::string_view name, std::string_view value);

    Secret body() const { return Secret(body_); }

  private:
    std::string body_;
};

struct HttpRequest {
    enum class Method { get, post, put, del };
    Method method = Method::post;
    std::string url;
    Secret body;           // the form, for POST (or the body of content_type)
    Secret authorization;  // the whole Authorization header value, when any
    // The body's type; empty: a form (application/x-www-form-urlencoded).
    std::string content_type;
    // A body streamed from here instead of `body`: exactly `source_size` bytes.
    ByteSource* source = nullptr;
    std::uint64_t source_size = 0;
    // More headers ("Content-Range", ...); never a credential.
    std::vector<std::pair<std::string, std::string>> headers;
    // This request's limit instead of the client's total_timeout.
    std::optional<std::chrono::milliseconds> timeout;
};

struct HttpResponse {
    long status = 0;
    std::string content_type;
    Secret body;
    std::string retry_after;  // the Retry-After header, when any
    std::string location;     // the Location header, when any
};

class HttpClient {
  public:
    virtual ~HttpClient() = default;
    // One request, no redirects followed. An HTTP error status is a response,
    // not an Error: only failing to get an answer at all (resolve, connect,
    // TLS, proxy, timeout) is an Error, with codes 601-612.
    virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

// send() to the identity provider (token, device code, discovery and
// revocation endpoints): failing to reach it is 642, identity provider
// unavailable, whose remedy is about the sign-in service, not 601-603 or
// 611, whose remedies are about the SMTP server; the detail keeps the cause
// ("cannot connect to login.example: ..."). 604 (proxy), 612 and 613
// (certificate) stay: what they ask for holds for any server.
Result<HttpResponse> send_to_identity_provider(HttpClient& http, const HttpRequest& request);

HttpRequest post_form(std::string url, const Form& form);
HttpRequest get(std::string url);

// "Basic base64(urlencode(id):urlencode(secret))", RFC 6749 2.3.1: the one
// client authentication every OAuth server must accept.
Secret basic_authorization(std::string_view client_id, const Secret& client_secret);

}  // namespace pb::oauth
