#include "oauth/http.hpp"

#include "core/encoding.hpp"
#include "oauth/url.hpp"

namespace pb::oauth {

Form& Form::add(std::string_view name, std::string_view value) {
    if (!body_.empty()) body_ += '&';
    form_encode_to(name, body_);
    body_ += '=';
    form_encode_to(value, body_);
    return *this;
}

Form& Form::add(std::string_view name, const Secret& value) {
    return add(name, value.reveal());
}

Form& Form::add_if(std::string_view name, std::string_view value) {
    return value.empty() ? *this : add(name, value);
}

HttpRequest post_form(std::string url, const Form& form) {
    HttpRequest r;
    r.method = HttpRequest::Method::post;
    r.url = std::move(url);
    r.body = form.body();
    return r;
}

HttpRequest get(std::string url) {
    HttpRequest r;
    r.method = HttpRequest::Method::get;
    r.url = std::move(url);
    return r;
}

Secret basic_authorization(std::string_view client_id, const Secret& client_secret) {
    std::string pair = form_encode(client_id);
    pair += ':';
    form_encode_to(client_secret.reveal(), pair);
    Secret header("Basic " + base64_encode(pair));
    Secret wipe_pair(std::move(pair));  // the plain pair dies with a wipe too
    return header;
}

Result<HttpResponse> send_to_identity_provider(HttpClient& http, const HttpRequest& request) {
    auto answer = http.send(request);
    if (answer) return answer;
    Error e = std::move(answer).error();
    switch (e.code) {
        case Errc::name_resolution:
        case Errc::cannot_connect:
        case Errc::timed_out:
        case Errc::tls_handshake:
            return fail(Errc::identity_provider_unavailable, "the sign-in service: " + e.detail);
        default:
            return e;
    }
}

}  // namespace pb::oauth
