// The SMTP client state machine (RFC 5321, 3207, 4954, 2920, 6531, 1870).
#include "smtp/session.hpp"

#include <algorithm>

#include "core/encoding.hpp"
#include "core/text.hpp"
#include "smtp/codes.hpp"

namespace pb::smtp {

namespace {

using namespace std::chrono_literals;

bool has_line_break_or_bracket(std::string_view s) noexcept {
    return s.find_first_of("\r\n<>") != std::string_view::npos;
}

// The error challenge of XOAUTH2/OAUTHBEARER is base64 JSON such as
// {"status":"401","schemes":"Bearer","scope":"..."}: no secret, and the
// best hint an administrator gets, so it goes into the failure detail.
std::string decode_challenge(const Reply& r) {
    if (r.lines.empty()) return {};
    auto text = base64_decode(r.lines.front());
    if (!text) return {};
    std::erase_if(*text, [](char c) { return !ascii_print(c); });
    return text->substr(0, 200);
}

}  // namespace

bool needs_smtputf8(std::string_view address) noexcept {
    return std::any_of(address.begin(), address.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

Session::StateInfo Session::describe(State s) noexcept {
    // Timeouts from RFC 5321 4.5.3.2 where it gives one, Postfix's otherwise.
    switch (s) {
        case State::connecting:
            return {30s, "while connecting", false};
        case State::tls_handshake:
            return {60s, "during the TLS handshake", false};
        case State::greeting:
            return {300s, "while receiving the initial server greeting", false};
        case State::ehlo:
            return {300s, "while sending EHLO", false};
        case State::helo:
            return {300s, "while sending HELO", false};
        case State::starttls:
            return {300s, "while sending STARTTLS", false};
        case State::auth_token:
            return {120s, "while getting an access token", false};
        case State::auth:
            return {300s, "while authenticating", false};
        case State::auth_error_ack:
            return {300s, "while authenticating", false};
        case State::ready:
            return {300s, "while idle between messages", false};
        case State::mail:
            return {300s, "while sending MAIL FROM", false};
        case State::rcpt:
            return {300s, "while sending RCPT TO", false};
        case State::data:
            return {120s, "while sending DATA", false};
        case State::body:
            return {180s, "while sending the message body", false};
        case State::data_end:
            return {600s, "while sending end of data", true};
        case State::rset:
            return {120s, "while sending RSET", false};
        case State::quit:
            return {120s, "while sending QUIT", false};
        case State::closed:
            return {0s, "after the session ended", false};
        case State::failed:
            return {0s, "after the session failed", false};
    }
    return {0s, "in an unknown state", false};
}

std::string_view Session::name(State s) noexcept {
    switch (s) {
        case State::connecting:
            return "connecting";
        case State::tls_handshake:
            return "tls_handshake";
        case State::greeting:
            return "greeting";
        case State::ehlo:
            return "ehlo";
        case State::helo:
            return "helo";
        case State::starttls:
            return "starttls";
        case State::auth_token:
            return "auth_token";
        case State::auth:
            return "auth";
        case State::auth_error_ack:
            return "auth_error_ack";
        case State::ready:
            return "ready";
        case State::mail:
            return "mail";
        case State::rcpt:
            return "rcpt";
        case State::data:
            return "data";
        case State::body:
            return "body";
        case State::data_end:
            return "data_end";
        case State::rset:
            return "rset";
        case State::quit:
            return "quit";
        case State::closed:
            return "closed";
        case State::failed:
            return "failed";
    }
    return "unknown";
}

Session::Session(SessionConfig config) : config_(std::move(config)) {}

Duration Session::timeout() const noexcept {
    const Duration t = describe(state_).timeout;
    return config_.timeout_limit ? std::min(t, *config_.timeout_limit) : t;
}

std::optional<Action> Session::next() {
    if (actions_.empty()) return std::nullopt;
    Action a = std::move(actions_.front());
    actions_.pop_front();
    return a;
}

void Session::set_state(State next) {
    if (next != state_ && config_.trace) config_.trace(name(state_), name(next));
    state_ = next;
}

void Session::push(Action a) {
    // Consecutive writes travel as one: that is what makes PIPELINING a
    // single segment, and the body a few large writes.
    if (auto* w = std::get_if<action::Write>(&a); w && !actions_.empty()) {
        if (auto* last = std::get_if<action::Write>(&actions_.back())) {
            last->bytes += w->bytes;
            return;
        }
    }
    actions_.push_back(std::move(a));
}

void Session::write(std::string_view command) {
    transcript_.client(command);
    push(action::Write{std::string(command)});
}

void Session::fail(Errc code, std::string detail) {
    if (state_ == State::failed || state_ == State::closed) return;
    const StateInfo info = describe(state_);
    detail += " (";
    detail += info.phase;
    detail += ')';
    transcript_.note("failed: code " + std::to_string(static_cast<int>(code)) + ": " + detail);
    set_state(State::failed);
    mech_.reset();
    push(action::Failed{Error{code, std::move(detail)}, std::string(info.phase), info.maybe_sent});
}

// ---- events ---------------------------------------------------------------

void Session::on_connected() {
    if (state_ != State::connecting) return;
    if (config_.security == Security::ssl_tls) {
        set_state(State::tls_handshake);
        push(action::StartTls{});
    } else {
        set_state(State::greeting);
    }
}

void Session::on_tls_established() {
    if (state_ != State::tls_handshake) return;
    tls_active_ = true;
    transcript_.note("TLS established");
    if (config_.security == Security::ssl_tls) {
        set_state(State::greeting);
        return;
    }
    // RFC 3207 4.2: forget what the server said before TLS, and ask again.
    caps_ = Capabilities{};
    set_state(State::ehlo);
    write("EHLO " + config_.helo_name + "\r\n");
}

void Session::on_bytes(std::string_view bytes) {
    while (!bytes.empty()) {
        if (state_ == State::failed || state_ == State::closed) return;
        if (state_ == State::tls_handshake) {
            // Whatever comes after the 220 to STARTTLS and before the
            // handshake was not protected by TLS: a man in the middle could
            // have injected it (CVE-2011-0411 and its kin). Refuse.
            fail(Errc::tls_handshake, "the server sent data after its 220 to STARTTLS, before TLS");
            return;
        }
        const auto progress = parser_.put(bytes);
        bytes.remove_prefix(progress.consumed);
        if (progress.status == ReplyParser::Status::invalid) {
            fail(Errc::mail_service_unavailable, "protocol error: " + std::string(parser_.error()));
            return;
        }
        if (progress.status == ReplyParser::Status::need_more) return;
        Reply r = parser_.take();
        transcript_.server(r);
        on_reply(std::move(r));
    }
}

void Session::on_token(Secret token) {
    if (state_ != State::auth_token) return;
    mech_ = make_mechanism(
        mechanism_, SaslCredentials{config_.user, std::move(token), config_.host, config_.port});
    send_auth();
}

void Session::on_token_error(Error error) {
    if (state_ != State::auth_token) return;
    // The OAuth part already chose the code (360, 361, 370, 642, 643).
    const StateInfo info = describe(state_);
    transcript_.note("no access token: code " + std::to_string(error.number()));
    set_state(State::failed);
    push(action::Failed{std::move(error), std::string(info.phase), false});
}

void Session::on_body(std::string_view chunk) {
    if (state_ != State::body) return;
    body_bytes_ += chunk.size();
    action::Write w;
    w.bytes.reserve(chunk.size() + chunk.size() / 32 + 16);
    stuffer_.put(chunk, w.bytes);
    push(std::move(w));
    push(action::NeedBody{});
}

void Session::on_body_end() {
    if (state_ != State::body) return;
    action::Write w;
    stuffer_.finish(w.bytes);
    transcript_.client_body(body_bytes_);
    transcript_.client(".");
    push(std::move(w));
    set_state(State::data_end);
}

void Session::on_body_error(Error error) {
    if (state_ != State::body) return;
    // DATA cannot be taken back: ending it with "." would send a truncated
    // message. Only dropping the connection makes the server discard it.
    const StateInfo info = describe(state_);
    transcript_.note("message source failed: code " + std::to_string(error.number()));
    set_state(State::failed);
    push(action::Failed{std::move(error), std::string(info.phase), false});
}

void Session::on_timeout() {
    fail(Errc::timed_out,
         "no answer within " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout()).count()) +
             " s");
}

void Session::on_closed_by_peer() {
    if (state_ == State::quit) {
        set_state(State::closed);
        push(action::Closed{});
        return;
    }
    fail(Errc::mail_service_unavailable, "the server closed the connection");
}

void Session::on_io_error(Error error) {
    fail(error.code, std::move(error.detail));
}

// ---- replies --------------------------------------------------------------

void Session::on_reply(Reply r) {
    // 421: the server is closing the channel (RFC 5321 3.8), whatever we did.
    if (r.code == 421 && state_ != State::quit) {
        fail(classify(r, Step::greeting), r.summary());
        return;
    }
    switch (state_) {
        case State::greeting:
            if (r.code != 220) return fail(classify(r, Step::greeting), r.summary());
            set_state(State::ehlo);
            return write("EHLO " + config_.helo_name + "\r\n");

        case State::ehlo:
            if (r.code == 250) {
                caps_ = parse_capabilities(r);
                return after_ehlo();
            }
            // HELO only when nothing needs an extension: no TLS, no AUTH.
            if (r.permanent() && config_.security == Security::none &&
                config_.auth == AuthMethod::off) {
                set_state(State::helo);
                return write("HELO " + config_.helo_name + "\r\n");
            }
            return fail(classify(r, Step::ehlo), r.summary());

        case State::helo:
            if (r.code != 250) return fail(classify(r, Step::ehlo), r.summary());
            caps_ = Capabilities{};
            return enter_ready();

        case State::starttls:
            if (r.code == 220) {
                set_state(State::tls_handshake);
                push(action::StartTls{});
                if (parser_.mid_reply())
                    fail(Errc::tls_handshake,
                         "the server sent data after its 220 to STARTTLS, before TLS");
                return;
            }
            if (r.transient()) return fail(Errc::mail_service_unavailable, r.summary());
            return fail(Errc::starttls_not_offered, "the server refused STARTTLS: " + r.summary());

        case State::auth:
            if (r.code == smtp_sasl.success_code) {
                authenticated_ = true;
                mech_.reset();
                transcript_.note("authenticated with " + mechanism_);
                return enter_ready();
            }
            if (r.code == smtp_sasl.continue_code) {
                if (!mech_->finished()) {
                    Secret resp = mech_->step();
                    std::string line(resp.reveal());
                    line += "\r\n";
                    transcript_.client_auth({});
                    push(action::WriteSecret{Secret(std::move(line))});
                    return;
                }
                // An error challenge: the token was refused; the server wants
                // an acknowledgement before it sends the 535.
                const std::string why = decode_challenge(r);
                if (!why.empty()) transcript_.note("error challenge: " + why);
                set_state(State::auth_error_ack);
                return write(std::string(mech_->error_ack()) + "\r\n");
            }
            return auth_failed(r);

        case State::auth_error_ack:
            return auth_failed(r);

        case State::mail:
            set_state(State::rcpt);
            if (r.code != 250) {
                mail_error_ = Error{classify(r, Step::mail), r.summary()};
                message_.reply = r;
                if (rcpt_sent_ == 0) return finish_recipients();  // nothing pipelined
                return;
            }
            if (rcpt_sent_ == 0) send_rcpt(0);
            return;

        case State::rcpt: {
            const std::size_t i = rcpt_replied_++;
            if (i < envelope_.to.size()) {
                RecipientResult res{envelope_.to[i], r, std::nullopt};
                if (r.code != 250 && r.code != 251) res.code = classify(r, Step::rcpt);
                if (mail_error_) res.code = mail_error_->code;
                message_.recipients.push_back(std::move(res));
            }
            if (rcpt_replied_ < envelope_.to.size()) {
                if (rcpt_sent_ < rcpt_replied_ + 1 && !mail_error_) send_rcpt(rcpt_replied_);
                return;
            }
            return finish_recipients();
        }

        case State::data:
            if (r.code != 354) {
                message_.reply = r;
                return message_failed(Error{classify(r, Step::data), r.summary()}, true);
            }
            set_state(State::body);
            body_bytes_ = 0;
            push(action::NeedBody{});
            return;

        case State::data_end:
            message_.reply = r;
            if (r.code != 250) {
                // The transaction is over either way: no RSET needed.
                return message_failed(Error{classify(r, Step::data_end), r.summary()}, false);
            }
            push(action::MessageDone{std::move(message_)});
            message_ = MessageResult{};
            return enter_ready();

        case State::rset:
            if (r.code != 250) return fail(classify(r, Step::rset), r.summary());
            return enter_ready();

        case State::quit:
            set_state(State::closed);
            push(action::Closed{});
            return;

        case State::connecting:
        case State::tls_handshake:
        case State::auth_token:
        case State::ready:
        case State::body:
        case State::closed:
        case State::failed:
            return fail(Errc::mail_service_unavailable, "unexpected reply: " + r.summary());
    }
}

void Session::after_ehlo() {
    if (config_.security == Security::starttls && !tls_active_) {
        if (!caps_.starttls) {
            // Never fall back to plaintext: STARTTLS can be stripped by
            // anyone on the path (RFC 3207 6).
            return fail(Errc::starttls_not_offered,
                        "the server did not offer STARTTLS; not continuing without TLS");
        }
        set_state(State::starttls);
        return write("STARTTLS\r\n");
    }
    if (config_.auth != AuthMethod::off && !authenticated_) {
        if (!tls_active_ && !config_.allow_plaintext_auth)
            return fail(Errc::auth_without_tls,
                        "not sending AUTH over a connection without TLS (smtp.security none)");
        return start_auth();
    }
    enter_ready();
}

void Session::start_auth() {
    if (!config_.mechanism.empty()) {
        if (!caps_.offers_auth(config_.mechanism) || !make_mechanism(config_.mechanism, {}))
            return fail(Errc::no_common_mechanism,
                        "the server does not offer AUTH " + config_.mechanism);
        mechanism_ = config_.mechanism;
    } else {
        auto chosen = choose_mechanism(config_.auth, caps_);
        if (!chosen) return fail(chosen.error().code, chosen.error().detail);
        mechanism_ = std::string(*chosen);
    }
    if (config_.auth == AuthMethod::oauth2) {
        set_state(State::auth_token);
        push(action::NeedToken{false});
        return;
    }
    mech_ = make_mechanism(
        mechanism_, SaslCredentials{config_.user, config_.password, config_.host, config_.port});
    send_auth();
}

void Session::send_auth() {
    set_state(State::auth);
    Secret line = auth_command(*mech_);
    if (mech_->initial_response_sent())
        transcript_.client_auth(mechanism_);
    else
        transcript_.client("AUTH " + mechanism_);
    push(action::WriteSecret{std::move(line)});
}

void Session::auth_failed(const Reply& r) {
    const Errc code = classify(r, Step::auth);
    if (code == Errc::auth_rejected && mech_ && mech_->uses_token()) {
        if (!forced_refresh_done_) {
            // An access token can be revoked or expire before its stated
            // time; one forced refresh tells that apart from a real refusal.
            forced_refresh_done_ = true;
            mech_.reset();
            set_state(State::auth_token);
            push(action::NeedToken{true});
            return;
        }
        return fail(code, "rejected again after a fresh token: " + r.summary());
    }
    fail(code, r.summary());
}

// ---- messages -------------------------------------------------------------

void Session::submit(Envelope envelope) {
    if (state_ != State::ready) return;
    message_ = MessageResult{};
    mail_error_.reset();
    rcpt_sent_ = rcpt_replied_ = 0;
    envelope_ = std::move(envelope);

    auto refuse = [&](Errc code, std::string detail) {
        message_.phase = describe(State::mail).phase;
        message_.error = Error{code, std::move(detail)};
        push(action::MessageDone{std::move(message_)});
        message_ = MessageResult{};
        push(action::Ready{});
    };
    if (envelope_.to.empty()) return refuse(Errc::invalid_input, "the message has no recipient");
    // An address with CR, LF or angle brackets would end our command early
    // and start another: refuse before anything is sent.
    bool utf8 = needs_smtputf8(envelope_.from);
    if (has_line_break_or_bracket(envelope_.from) || envelope_.from.size() > 320)
        return refuse(Errc::invalid_input, "invalid sender address");
    for (const auto& to : envelope_.to) {
        if (has_line_break_or_bracket(to) || to.empty() || to.size() > 320)
            return refuse(Errc::invalid_input, "invalid recipient address");
        utf8 = utf8 || needs_smtputf8(to);
    }
    if (utf8 && !caps_.smtputf8)
        return refuse(Errc::smtputf8_not_offered,
                      "an address is internationalized and the server does not offer SMTPUTF8");
    if (envelope_.size && caps_.size && *caps_.size > 0 && *envelope_.size > *caps_.size)
        return refuse(Errc::message_too_large,
                      "the message has " + std::to_string(*envelope_.size) +
                          " bytes; the server takes at most " + std::to_string(*caps_.size));

    std::string cmd = "MAIL FROM:<" + envelope_.from + ">";
    if (caps_.size && envelope_.size) cmd += " SIZE=" + std::to_string(*envelope_.size);
    if (envelope_.eight_bit && caps_.eightbitmime) cmd += " BODY=8BITMIME";
    if (utf8) cmd += " SMTPUTF8";
    if (caps_.dsn && !envelope_.dsn_ret.empty()) cmd += " RET=" + envelope_.dsn_ret;
    cmd += "\r\n";
    set_state(State::mail);
    write(cmd);
    if (caps_.pipelining) {
        // RFC 2920: MAIL and RCPT may go in one group; DATA waits for their
        // replies so that a refused envelope never gets a body.
        for (std::size_t i = 0; i < envelope_.to.size(); ++i) send_rcpt(i);
    }
}

void Session::send_rcpt(std::size_t index) {
    ++rcpt_sent_;
    std::string cmd = "RCPT TO:<" + envelope_.to[index] + ">";
    if (caps_.dsn && !envelope_.dsn_notify.empty()) cmd += " NOTIFY=" + envelope_.dsn_notify;
    write(cmd + "\r\n");
}

void Session::finish_recipients() {
    if (mail_error_) {
        for (std::size_t i = message_.recipients.size(); i < envelope_.to.size(); ++i)
            message_.recipients.push_back({envelope_.to[i], Reply{}, mail_error_->code});
        set_state(State::mail);  // the phase of the failure
        return message_failed(std::move(*mail_error_), true);
    }
    const auto accepted = std::count_if(message_.recipients.begin(), message_.recipients.end(),
                                        [](const RecipientResult& r) { return r.accepted(); });
    if (accepted == 0) {
        // The first refusal speaks for all: usually 632, but 641 or 634 when
        // the server only wants us to come back later.
        const auto& first = message_.recipients.front();
        message_.reply = first.reply;
        return message_failed(Error{first.code.value_or(Errc::recipient_rejected),
                                    "every recipient was refused; first: <" + first.address + "> " +
                                        first.reply.summary()},
                              true);
    }
    set_state(State::data);
    write("DATA\r\n");
}

void Session::message_failed(Error error, bool in_transaction) {
    const StateInfo info = describe(state_);
    message_.phase = std::string(info.phase);
    error.detail += " (";
    error.detail += info.phase;
    error.detail += ')';
    message_.error = std::move(error);
    push(action::MessageDone{std::move(message_)});
    message_ = MessageResult{};
    if (in_transaction) {
        set_state(State::rset);
        return write("RSET\r\n");
    }
    enter_ready();
}

void Session::enter_ready() {
    set_state(State::ready);
    push(action::Ready{});
}

void Session::quit() {
    if (state_ != State::ready) return;
    set_state(State::quit);
    write("QUIT\r\n");
}

}  // namespace pb::smtp
