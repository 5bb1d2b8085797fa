// The HTTP the OAuth flows need, as an interface: a form POST or a GET to an
// identity provider, answered with a status and a body. The flows and the
// token manager depend on this, never on libcurl, so that tests drive them
// with scripted answers and counts (http_curl.hpp is the real edge).
//
// Request and response bodies are Secrets: a token request carries a refresh
// token or a code verifier, a token response carries the tokens. Only the
// URL is plain text, and by rule it never holds a credential.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/secret.hpp"

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
    enum class Method { get, post };
    Method method = Method::post;
    std::string url;
    Secret body;           // the form, for POST
    Secret authorization;  // the whole Authorization header value, when any
};

struct HttpResponse {
    long status = 0;
    std::string content_type;
    Secret body;
};

class HttpClient {
  public:
    virtual ~HttpClient() = default;
    // One request, no redirects followed. An HTTP error status is a response,
    // not an Error: only failing to get an answer at all (resolve, connect,
    // TLS, proxy, timeout) is an Error, with codes 601-612.
    virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

HttpRequest post_form(std::string url, const Form& form);
HttpRequest get(std::string url);

// "Basic base64(urlencode(id):urlencode(secret))", RFC 6749 2.3.1: the one
// client authentication every OAuth server must accept.
Secret basic_authorization(std::string_view client_id, const Secret& client_secret);

}  // namespace pb::oauth
