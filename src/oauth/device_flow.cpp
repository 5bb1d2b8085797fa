#include "oauth/device_flow.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cassert>
#include <charconv>

#include "core/text.hpp"
#include "oauth/provider_error.hpp"
#include "oauth/url.hpp"

namespace pb::oauth {
namespace {

using State = DeviceFlow::State;

std::optional<long long> seconds_field(const nlohmann::json& doc, const char* name) {
    const auto it = doc.find(name);
    if (it == doc.end()) return std::nullopt;
    if (it->is_number_integer()) return it->get<long long>();
    // Google and older Microsoft endpoints have sent numbers as strings.
    if (it->is_string()) {
        const auto& s = it->get_ref<const std::string&>();
        long long v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc{} && end == s.data() + s.size()) return v;
    }
    return -1;
}

bool transient(Errc code) {
    return info(code).condition == Condition::transient;
}

}  // namespace

std::string sign_in_message(std::string_view verification_uri, std::string_view user_code) {
    std::string m = "To sign in, use a web browser to open the page ";
    m += verification_uri;
    m += " and enter the code ";
    m += user_code;
    m += " to authenticate.";
    return m;
}

Result<DeviceAuthorization> parse_device_authorization(std::string_view body, TimePoint now) {
    const auto doc = nlohmann::json::parse(body, nullptr, false);
    if (!doc.is_object())
        return fail(Errc::identity_provider_unavailable,
                    "the device authorization endpoint answered with something that is not JSON");
    auto text = [&](const char* name) -> std::string {
        const auto it = doc.find(name);
        return (it != doc.end() && it->is_string()) ? it->get<std::string>() : std::string{};
    };
    DeviceAuthorization a;
    a.device_code = Secret(text("device_code"));
    a.user_code = text("user_code");
    a.verification_uri = text("verification_uri");
    if (a.verification_uri.empty()) a.verification_uri = text("verification_url");
    a.verification_uri_complete = text("verification_uri_complete");
    if (a.device_code.empty() || a.user_code.empty() || a.verification_uri.empty())
        return fail(
            Errc::identity_provider_unavailable,
            "the device authorization response lacks device_code, user_code or verification_uri");
    // The code and the page go on a screen and into a sentence: only a plain
    // code and a real web address are shown.
    if (!std::ranges::all_of(a.user_code, ascii_visible) || a.user_code.size() > 64 ||
        !parse_url(a.verification_uri))
        return fail(
            Errc::identity_provider_unavailable,
            "the device authorization response has an unusable user_code or verification_uri");
    if (!a.verification_uri_complete.empty() && !parse_url(a.verification_uri_complete))
        a.verification_uri_complete.clear();

    const auto expires = seconds_field(doc, "expires_in");
    if (!expires || *expires <= 0)
        return fail(Errc::identity_provider_unavailable,
                    "the device authorization response has no valid expires_in");
    a.expires_at = now + std::chrono::seconds{*expires};
    const auto interval = seconds_field(doc, "interval");
    a.interval = (interval && *interval > 0) ? Duration{std::chrono::seconds{*interval}}
                                             : default_poll_interval;
    return a;
}

DeviceFlow::DeviceFlow(Client client) : client_(std::move(client)) {}

DeviceFlow DeviceFlow::resume(Client client, DeviceAuthorization authorization, TimePoint now) {
    DeviceFlow f(std::move(client));
    f.interval_ =
        authorization.interval > Duration::zero() ? authorization.interval : default_poll_interval;
    f.auth_ = std::move(authorization);
    f.schedule(now);
    f.enter(State::waiting);
    return f;
}

bool DeviceFlow::done() const noexcept {
    switch (state_) {
        case State::start:
        case State::requesting:
        case State::waiting:
        case State::polling:
        case State::retrying:
            return false;
        case State::signed_in:
        case State::denied:
        case State::code_expired:
        case State::bad_code:
        case State::failed:
        case State::cancelled:
            return true;
    }
    return true;
}

// Every change of state goes through here (style.md: one place changes
// protocol state), so that a transition to log or assert has one home.
void DeviceFlow::enter(State to) {
    state_ = to;
}

void DeviceFlow::end(State to, Errc code, std::string detail) {
    error_ = Error{code, std::move(detail)};
    enter(to);
}

DeviceFlow::Step DeviceFlow::next(TimePoint now) {
    switch (state_) {
        case State::start:
            if (client_.provider.endpoints.device_authorization.empty()) {
                end(State::failed, Errc::identity_provider_config,
                    "the provider has no device authorization endpoint: use the authorization code "
                    "grant (oauth.grant=authorization-code)");
                return {};
            }
            enter(State::requesting);
            return {Step::Kind::send, device_authorization_request(client_), {}};
        case State::waiting:
        case State::retrying:
            if (now >= auth_->expires_at) {
                end(State::code_expired, Errc::not_signed_in,
                    "the code expired before it was entered: sign in again for a new code");
                return {};
            }
            if (now >= poll_at_) {
                enter(State::polling);
                return {Step::Kind::send, device_token_request(client_, auth_->device_code), {}};
            }
            return {Step::Kind::wait, {}, std::min(poll_at_, auth_->expires_at)};
        case State::requesting:
        case State::polling:
            // A request is out: the caller must answer it first.
            assert(!"DeviceFlow::next while a request is out");
            return {};
        case State::signed_in:
        case State::denied:
        case State::code_expired:
        case State::bad_code:
        case State::failed:
        case State::cancelled:
            return {};
    }
    return {};
}

void DeviceFlow::on_answer(Result<HttpResponse> answer, TimePoint now) {
    switch (state_) {
        case State::requesting:
            on_authorization(std::move(answer), now);
            return;
        case State::polling:
            on_poll(std::move(answer), now);
            return;
        case State::cancelled:
            return;  // the answer to a request sent before cancel()
        case State::start:
        case State::waiting:
        case State::retrying:
        case State::signed_in:
        case State::denied:
        case State::code_expired:
        case State::bad_code:
        case State::failed:
            assert(!"DeviceFlow::on_answer without a request out");
            return;
    }
}

void DeviceFlow::on_authorization(Result<HttpResponse> answer, TimePoint now) {
    if (!answer) {
        error_ = std::move(answer).error();
        enter(State::failed);
        return;
    }
    if (answer->status != 200) {
        const Verdict v =
            decode_failure(client_.provider.family, answer->status, answer->body.reveal());
        end(State::failed, v.code, v.message);
        return;
    }
    auto parsed = parse_device_authorization(answer->body.reveal(), now);
    if (!parsed) {
        error_ = std::move(parsed).error();
        enter(State::failed);
        return;
    }
    auth_ = std::move(*parsed);
    interval_ = auth_->interval;
    schedule(now);
    enter(State::waiting);
}

void DeviceFlow::on_poll(Result<HttpResponse> answer, TimePoint now) {
    // No answer at all: the person may be typing the code right now, so keep
    // polling until the code expires; the error stays visible meanwhile.
    if (!answer) {
        error_ = std::move(answer).error();
        schedule(now);
        enter(transient(error_->code) ? State::retrying : State::failed);
        return;
    }
    if (answer->status == 200) {
        auto tokens = parse_token_response(answer->body.reveal(), now);
        if (!tokens) {
            error_ = std::move(tokens).error();
            enter(State::failed);
            return;
        }
        tokens_ = std::move(*tokens);
        error_.reset();
        enter(State::signed_in);
        return;
    }
    const auto e = parse_error_body(answer->status, answer->body.reveal());
    const std::string_view err = e ? std::string_view(e->error) : std::string_view{};
    if (err == "authorization_pending") {
        error_.reset();
        schedule(now);
        enter(State::waiting);
    } else if (err == "slow_down") {
        interval_ += slow_down_step;
        error_.reset();
        schedule(now);
        enter(State::waiting);
    } else if (err == "access_denied" || err == "authorization_declined") {
        end(State::denied, Errc::not_signed_in, "the sign-in was declined");
    } else if (err == "expired_token") {
        end(State::code_expired, Errc::not_signed_in,
            "the code expired before it was entered: sign in again for a new code");
    } else if (err == "bad_verification_code") {
        end(State::bad_code, Errc::not_signed_in,
            "the identity provider does not know this device code (bad_verification_code): sign "
            "in again for a new code");
    } else {
        const Verdict v =
            e ? decode_error(client_.provider.family, *e)
              : decode_failure(client_.provider.family, answer->status, answer->body.reveal());
        error_ = Error{v.code, v.message};
        if (transient(v.code)) {
            schedule(now);
            enter(State::retrying);
        } else {
            enter(State::failed);
        }
    }
}

void DeviceFlow::cancel() {
    if (done()) return;
    end(State::cancelled, Errc::not_signed_in, "the sign-in was cancelled");
}

std::string DeviceFlow::message() const {
    switch (state_) {
        case State::start:
        case State::requesting:
            return "Requesting a sign-in code.";
        case State::waiting:
        case State::polling:
            return sign_in_message(auth_->verification_uri, auth_->user_code);
        case State::retrying:
            return sign_in_message(auth_->verification_uri, auth_->user_code) +
                   " (The identity provider cannot be reached right now: " + error_->detail +
                   ". Still trying until the code expires.)";
        case State::signed_in:
            return tokens_->account.empty() ? std::string("Signed in.")
                                            : "Signed in as " + tokens_->account + ".";
        case State::denied:
            return "The sign-in was declined.";
        case State::code_expired:
            return "The code expired before it was entered. Sign in again for a new code.";
        case State::bad_code:
        case State::failed:
            return "The sign-in failed: " + error_->describe();
        case State::cancelled:
            return "The sign-in was cancelled.";
    }
    return {};
}

std::string_view to_string(DeviceFlow::State s) noexcept {
    switch (s) {
        case State::start:
            return "start";
        case State::requesting:
            return "requesting";
        case State::waiting:
            return "waiting";
        case State::polling:
            return "polling";
        case State::retrying:
            return "retrying";
        case State::signed_in:
            return "signed-in";
        case State::denied:
            return "denied";
        case State::code_expired:
            return "code-expired";
        case State::bad_code:
            return "bad-code";
        case State::failed:
            return "failed";
        case State::cancelled:
            return "cancelled";
    }
    return "unknown";
}

}  // namespace pb::oauth
