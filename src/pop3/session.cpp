// The POP3 login state machine (RFC 1939, 2449, 2595, 3206, 8314).
#include "pop3/session.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace pb::pop3 {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t transcript_max_lines = 64;
constexpr std::size_t transcript_max_line = 300;

// Dovecot: "-ERR [AUTH] Plaintext authentication disallowed on non-secure
// (SSL/TLS) connections."; others say "TLS required" or "use STLS".
bool mentions_tls(std::string_view text) noexcept {
    for (const std::string_view word : {"plaintext", "TLS", "SSL", "secure"}) {
        for (std::size_t i = 0; i + word.size() <= text.size(); ++i)
            if (iequals(text.substr(i, word.size()), word)) return true;
    }
    return false;
}

bool has_line_break_or_nul(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

// ---- responses and lines --------------------------------------------------

std::optional<Response> parse_response(std::string_view line) {
    Response r;
    std::string_view rest;
    if (istarts_with(line, "+OK")) {
        r.ok = true;
        rest = line.substr(3);
    } else if (istarts_with(line, "-ERR")) {
        rest = line.substr(4);
    } else {
        return std::nullopt;
    }
    // "+OKAY" is not "+OK": the indicator ends the line or is followed by a space.
    if (!rest.empty() && rest.front() != ' ' && rest.front() != '\t') return std::nullopt;
    rest = trim(rest);
    r.text = std::string(rest);
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close != std::string_view::npos) r.code = std::string(rest.substr(1, close - 1));
    }
    r.line = std::string(line);
    return r;
}

LineReader::Progress LineReader::put(std::string_view bytes) {
    const auto nl = bytes.find('\n');
    const std::size_t take = nl == std::string_view::npos ? bytes.size() : nl;
    if (partial_.size() + take > max_line) return {Status::invalid, 0};
    partial_.append(bytes.substr(0, take));
    if (nl == std::string_view::npos) return {Status::need_more, bytes.size()};
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    line_ = std::exchange(partial_, {});
    return {Status::line, nl + 1};
}

void Transcript::add(std::string line) {
    if (lines_.size() >= transcript_max_lines) {
        ++dropped_;
        return;
    }
    lines_.push_back(std::move(line));
}

void Transcript::client(std::string_view line) {
    add("C: " + printable(line, transcript_max_line));
}

void Transcript::server(std::string_view line) {
    add("S: " + printable(line, transcript_max_line));
}

void Transcript::note(std::string_view text) {
    add("-- " + printable(text, transcript_max_line));
}

std::string Transcript::str() const {
    std::string out;
    for (const auto& l : lines_) {
        out += l;
        out += '\n';
    }
    if (dropped_ > 0) out += "-- " + std::to_string(dropped_) + " more lines not kept\n";
    return out;
}

// ---- the session ----------------------------------------------------------

Session::StateInfo Session::describe(State s) noexcept {
    // RFC 1939 gives the server's idle limit (10 minutes) but no client
    // figures; a login is a handful of short exchanges, so a minute each.
    switch (s) {
        case State::connecting:
            return {30s, "while connecting to the POP3 server"};
        case State::tls_handshake:
            return {60s, "during the TLS handshake with the POP3 server"};
        case State::greeting:
            return {60s, "while receiving the POP3 greeting"};
        case State::capa:
            return {60s, "while sending CAPA"};
        case State::stls:
            return {60s, "while sending STLS"};
        case State::user:
            return {60s, "while sending USER"};
        case State::pass:
            return {60s, "while sending PASS"};
        case State::quit:
            return {30s, "while sending QUIT"};
        case State::closed:
            return {0s, "after the POP3 session ended"};
        case State::failed:
            return {0s, "after the POP3 session failed"};
    }
    return {0s, "in an unknown state"};
}

std::string_view Session::name(State s) noexcept {
    switch (s) {
        case State::connecting:
            return "connecting";
        case State::tls_handshake:
            return "tls_handshake";
        case State::greeting:
            return "greeting";
        case State::capa:
            return "capa";
        case State::stls:
            return "stls";
        case State::user:
            return "user";
        case State::pass:
            return "pass";
        case State::quit:
            return "quit";
        case State::closed:
            return "closed";
        case State::failed:
            return "failed";
    }
    return "unknown";
}

Result<void> Session::check(const SessionConfig& config) {
    if (config.user.empty())
        return pb::fail(Errc::invalid_input,
                        "POP before SMTP needs the Authenticated Account (the POP3 user name)");
    if (has_line_break_or_nul(config.user) || config.user.size() > 255)
        return pb::fail(
            Errc::invalid_input,
            "the Authenticated Account is not usable for POP3: it has a line break, a NUL "
            "or more than 255 characters");
    if (config.password.empty())
        return pb::fail(Errc::invalid_input, "POP before SMTP needs the Authenticated Password");
    if (has_line_break_or_nul(config.password.reveal()) || config.password.size() > 255)
        return pb::fail(Errc::invalid_input,
                        "the Authenticated Password is not usable for POP3: it has a line break, a "
                        "NUL or more than 255 characters");
    return {};
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
    actions_.push_back(std::move(a));
}

void Session::write(std::string_view command) {
    transcript_.client(command.substr(0, command.size() - 2));  // without CRLF
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
    push(action::Failed{Error{code, std::move(detail)}, std::string(info.phase)});
}

// After +OK to PASS, POP before SMTP has what it came for: whatever QUIT
// meets (-ERR, a hang-up, silence) does not undo the login.
void Session::finish(std::string_view note) {
    if (!note.empty()) transcript_.note(note);
    set_state(State::closed);
    push(action::Closed{});
}

void Session::on_connected() {
    if (state_ != State::connecting) return;
    if (auto ok = check(config_); !ok) {
        set_state(State::failed);
        push(action::Failed{ok.error(), std::string(describe(State::connecting).phase)});
        return;
    }
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
    // RFC 2595 4: forget what CAPA said before TLS. Nothing else needs it.
    capabilities_.clear();
    send_user();
}

void Session::on_bytes(std::string_view bytes) {
    while (!bytes.empty()) {
        if (state_ == State::failed || state_ == State::closed) return;
        if (state_ == State::tls_handshake) {
            // Bytes after +OK to STLS and before the handshake were not
            // protected: a man in the middle may have written them.
            fail(Errc::tls_handshake,
                 "the POP3 server sent data after its +OK to STLS, before TLS");
            return;
        }
        const auto progress = reader_.put(bytes);
        bytes.remove_prefix(progress.consumed);
        if (progress.status == LineReader::Status::invalid) {
            // After the login was accepted nothing the server says can
            // undo it, an overlong answer to QUIT no more than one that is
            // not POP3.
            if (state_ == State::quit)
                return finish("the server's answer to QUIT is not POP3 (a line longer than " +
                              std::to_string(LineReader::max_line) + " bytes)");
            fail(Errc::mail_service_unavailable,
                 "protocol error: the server sent a line longer than " +
                     std::to_string(LineReader::max_line) +
                     " bytes; check the POP3 Server Address and Port Number");
            return;
        }
        if (progress.status == LineReader::Status::need_more) return;
        on_line(reader_.take());
    }
}

void Session::on_timeout() {
    if (state_ == State::quit) return finish("no answer to QUIT; the login was already accepted");
    fail(Errc::timed_out,
         "no answer from the POP3 server within " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout()).count()) +
             " s");
}

void Session::on_closed_by_peer() {
    if (state_ == State::quit) return finish({});
    fail(Errc::mail_service_unavailable, "the POP3 server closed the connection");
}

void Session::on_io_error(Error error) {
    if (state_ == State::quit) return finish("after the login: " + error.detail);
    fail(error.code, std::move(error.detail));
}

void Session::refused(const Response& r, std::string_view what) {
    // RFC 3206: these say "later", not "never": the service is busy or the
    // mailbox is open elsewhere; delivery retries.
    const bool transient =
        iequals(r.code, "SYS/TEMP") || iequals(r.code, "IN-USE") || iequals(r.code, "LOGIN-DELAY");
    const bool login = state_ == State::user || state_ == State::pass;
    const Errc code = transient || !login ? Errc::mail_service_unavailable : Errc::auth_rejected;
    if (login && !transient && !tls_active_ && mentions_tls(r.text))
        return fail(code,
                    "the POP3 server refuses a login without TLS; set POP3 security "
                    "(pop3.security) to starttls or ssl-tls: " +
                        printable(r.line, 200));
    fail(code, std::string(what) + ": " + printable(r.line, 200));
}

// A server never has a reason to send the password back; if one does (an
// echo in an error), it must not reach the transcript or the job record.
std::string Session::scrub(std::string line) const {
    const std::string_view pw = config_.password.reveal();
    if (pw.empty()) return line;
    for (auto at = line.find(pw); at != std::string::npos; at = line.find(pw, at + 10))
        line.replace(at, pw.size(), "<redacted>");
    return line;
}

void Session::on_line(std::string raw) {
    const std::string line = scrub(std::move(raw));
    transcript_.server(line);

    if (state_ == State::capa && in_capa_list_) {
        if (line == ".") return on_capa_done();
        std::string_view cap = line;
        if (cap.starts_with("..")) cap.remove_prefix(1);  // byte-stuffed (RFC 1939 3)
        if (capabilities_.size() < 64) capabilities_.emplace_back(cap);
        return;
    }

    const auto r = parse_response(line);
    if (!r) {
        if (state_ == State::quit) return finish("the server's answer to QUIT is not POP3");
        return fail(Errc::mail_service_unavailable,
                    "protocol error: the server's answer is not POP3 (+OK or -ERR): \"" +
                        printable(line, 100) + "\"; check the POP3 Server Address and Port Number");
    }

    switch (state_) {
        case State::greeting:
            if (!r->ok) return refused(*r, "the POP3 server refused the connection");
            if (config_.security == Security::starttls && !tls_active_) {
                set_state(State::capa);
                return write("CAPA\r\n");
            }
            return send_user();

        case State::capa:
            if (r->ok) {
                in_capa_list_ = true;
                return;
            }
            // A server from before RFC 2449 has no CAPA; STLS may still work.
            transcript_.note("no CAPA; trying STLS anyway");
            set_state(State::stls);
            return write("STLS\r\n");

        case State::stls:
            if (!r->ok)
                return fail(Errc::starttls_not_offered,
                            "the POP3 server refused STLS: " + printable(r->line, 200) +
                                "; not sending the password without TLS (choose SSL/TLS if the "
                                "server has POP3S, usually port 995)");
            set_state(State::tls_handshake);
            push(action::StartTls{});
            if (reader_.mid_line())
                fail(Errc::tls_handshake,
                     "the POP3 server sent data after its +OK to STLS, before TLS");
            return;

        case State::user:
            if (!r->ok)
                return refused(*r, "the POP3 server refused the account \"" +
                                       printable(config_.user, 100) + "\"");
            {
                set_state(State::pass);
                transcript_.client("PASS <redacted>");
                std::string line_out = "PASS ";
                line_out += config_.password.reveal();
                line_out += "\r\n";
                push(action::WriteSecret{Secret(std::move(line_out))});
            }
            return;

        case State::pass:
            if (!r->ok)
                return refused(*r, "the POP3 server refused the login of \"" +
                                       printable(config_.user, 100) +
                                       "\"; check the Authenticated Account and Password");
            logged_in_ = true;
            transcript_.note("logged in");
            push(action::LoggedIn{});
            set_state(State::quit);
            return write("QUIT\r\n");

        case State::quit:
            return finish(r->ok ? std::string_view{} : "QUIT refused; the login was accepted");

        case State::connecting:
        case State::tls_handshake:
        case State::closed:
        case State::failed:
            return fail(Errc::mail_service_unavailable,
                        "unexpected answer: \"" + printable(line, 100) + "\"");
    }
}

void Session::on_capa_done() {
    in_capa_list_ = false;
    const bool stls =
        std::any_of(capabilities_.begin(), capabilities_.end(), [](const std::string& c) {
            const std::string_view first = std::string_view(c).substr(0, c.find(' '));
            return iequals(first, "STLS");
        });
    if (!stls)
        return fail(Errc::starttls_not_offered,
                    "the POP3 server does not offer STLS; not sending the password without TLS "
                    "(choose SSL/TLS if the server has POP3S, usually port 995)");
    set_state(State::stls);
    write("STLS\r\n");
}

void Session::send_user() {
    set_state(State::user);
    write("USER " + config_.user + "\r\n");
}

}  // namespace pb::pop3
