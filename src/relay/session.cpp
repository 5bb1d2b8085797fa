#include "relay/session.hpp"

#include <algorithm>
#include <charconv>

#include "core/encoding.hpp"
#include "core/text.hpp"

namespace pb::relay {
namespace {

// RFC 5321 allows 512 octets for a command line; AUTH lines carry base64
// and some clients send long ones. Longer lines are refused, not buffered.
constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxAddress = 320;
constexpr std::size_t kMaxTranscript = 16 * 1024;

// "FROM:<a@b> SIZE=10" -> path "a@b", params "SIZE=10". Also accepts the
// path without angle brackets, as many old devices send it.
struct Path {
    std::string address;
    std::string_view params;
};

std::optional<Path> parse_path(std::string_view arg, std::string_view keyword) {
    if (!istarts_with(arg, keyword)) return std::nullopt;
    std::string_view rest = trim(arg.substr(keyword.size()));
    Path p;
    if (!rest.empty() && rest.front() == '<') {
        const auto close = rest.find('>');
        if (close == std::string_view::npos) return std::nullopt;
        std::string_view inside = rest.substr(1, close - 1);
        // A source route (<@a,@b:user@c>, RFC 5321 C) is obsolete: drop it.
        if (inside.starts_with('@')) {
            const auto colon = inside.find(':');
            if (colon == std::string_view::npos) return std::nullopt;
            inside.remove_prefix(colon + 1);
        }
        p.address = std::string(inside);
        p.params = trim(rest.substr(close + 1));
    } else {
        const auto sp = rest.find(' ');
        p.address = std::string(rest.substr(0, sp));
        p.params = sp == std::string_view::npos ? std::string_view{} : trim(rest.substr(sp));
        if (p.address.empty()) return std::nullopt;
    }
    return p;
}

bool plausible_address(std::string_view a, bool need_domain) {
    if (a.size() > kMaxAddress) return false;
    for (char c : a) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 32 || u == 127 || c == '<' || c == '>') return false;
    }
    if (!need_domain) return true;
    const auto at = a.rfind('@');
    return at != std::string_view::npos && at > 0 && at + 1 < a.size();
}

// The verbs this server knows; a line after a refused AUTH that starts
// with none of them is taken for an AUTH response and masked.
bool known_verb(std::string_view verb) {
    for (std::string_view v : {"EHLO", "HELO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT",
                               "VRFY", "HELP", "STARTTLS", "BDAT", "EXPN", "ETRN", "TURN"})
        if (iequals(verb, v)) return true;
    return false;
}

}  // namespace

std::optional<PlainCredentials> parse_plain(std::string_view decoded) {
    const auto first = decoded.find('\0');
    if (first == std::string_view::npos) return std::nullopt;
    const auto second = decoded.find('\0', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    const std::string_view authz = decoded.substr(0, first);
    const std::string_view authc = decoded.substr(first + 1, second - first - 1);
    const std::string_view pass = decoded.substr(second + 1);
    if (authc.empty() || pass.find('\0') != std::string_view::npos) return std::nullopt;
    if (!authz.empty() && authz != authc) return std::nullopt;
    return PlainCredentials{std::string(authc), Secret(std::string(pass))};
}

std::string_view Session::name(State s) noexcept {
    switch (s) {
        case State::command:
            return "command";
        case State::auth_plain:
            return "auth_plain";
        case State::auth_user:
            return "auth_user";
        case State::auth_pass:
            return "auth_pass";
        case State::verifying:
            return "verifying";
        case State::data:
            return "data";
        case State::submitting:
            return "submitting";
        case State::tls:
            return "tls";
        case State::closed:
            return "closed";
    }
    return "?";
}

void Session::set_state(State next) {
    if (next != state_ && config_.trace) config_.trace(name(state_), name(next));
    state_ = next;
}

Session::Session(SessionConfig config)
    : config_(std::move(config)), secure_(config_.implicit_tls) {}

std::string Session::greeting() const {
    return "220 " + config_.hostname + " ESMTP postbridge relay\r\n";
}

std::string Session::busy_reply(std::string_view hostname) {
    return "421 4.7.0 " + std::string(hostname) + " Too many connections, try again later\r\n";
}

std::string Session::timeout_reply(std::string_view hostname) {
    return "421 4.4.2 " + std::string(hostname) + " Timeout, closing connection\r\n";
}

std::string Session::shutdown_reply(std::string_view hostname) {
    return "421 4.3.2 " + std::string(hostname) + " Service shutting down, closing connection\r\n";
}

void Session::feed(std::string_view bytes) {
    if (state_ == State::closed || state_ == State::tls) return;  // see do_starttls()
    in_.append(bytes);
}

bool Session::reading() const {
    switch (state_) {
        case State::command:
        case State::auth_plain:
        case State::auth_user:
        case State::auth_pass:
        case State::data:
            return true;
        case State::verifying:
        case State::submitting:
        case State::tls:
        case State::closed:
            return false;
    }
    return false;
}

Action Session::next() {
    if (pending_.empty()) pump();
    if (pending_.empty()) return Action{};
    Action a = std::move(pending_.front());
    pending_.pop_front();
    return a;
}

void Session::pump() {
    std::size_t pos = 0;
    while (reading() && pos < in_.size()) {
        if (state_ == State::data) {
            // Only CRLF "." CRLF ends the data (see the header): the states
            // see each CR, LF and dot; the rest of a line is copied at once.
            std::string chunk;
            for (; pos < in_.size() && state_ == State::data; ++pos) {
                if (pos_ == DataPos::in_line) {
                    // Within a line: copy up to its CR or LF at once.
                    const std::size_t brk = next_line_break(in_, pos);
                    chunk.append(in_, pos, brk - pos);
                    if ((pos = brk) == in_.size()) break;
                }
                const char c = in_[pos];
                bool again = true;
                while (again) {
                    again = false;
                    switch (pos_) {
                        case DataPos::line_start:
                            if (c == '.') {
                                pos_ = DataPos::dot;
                            } else {
                                pos_ = DataPos::in_line;
                                again = true;
                            }
                            break;
                        case DataPos::dot:
                            if (c == '\r') {
                                pos_ = DataPos::dot_cr;
                            } else if (c == '\n') {
                                // "." then a bare LF: not the end; the dot stays.
                                chunk += ".\r\n";
                                bare_seen_ = true;
                                pos_ = DataPos::in_line;
                            } else {
                                pos_ = DataPos::in_line;  // dot-stuffing: drop the first dot
                                again = true;
                            }
                            break;
                        case DataPos::dot_cr:
                            if (c == '\n') {
                                emit_data(chunk);
                                chunk.clear();
                                end_of_data();
                            } else {
                                // "." then a bare CR: not the end either.
                                chunk += ".\r\n";
                                bare_seen_ = true;
                                pos_ = DataPos::in_line;
                                again = true;
                            }
                            break;
                        case DataPos::cr:
                            if (c == '\n') {
                                chunk += "\r\n";
                                pos_ = DataPos::line_start;
                            } else {
                                chunk += "\r\n";  // a bare CR ends no line
                                bare_seen_ = true;
                                pos_ = DataPos::in_line;
                                again = true;
                            }
                            break;
                        case DataPos::in_line:
                            if (c == '\r') {
                                pos_ = DataPos::cr;
                            } else if (c == '\n') {
                                chunk += "\r\n";  // a bare LF ends no line either
                                bare_seen_ = true;
                            } else {
                                chunk += c;
                            }
                            break;
                    }
                }
            }
            emit_data(chunk);
            continue;
        }
        const auto lf = in_.find('\n', pos);
        if (lf == std::string::npos) {
            if (in_.size() - pos > kMaxLine) {
                discarding_line_ = true;
                pos = in_.size();
            }
            break;
        }
        std::string_view line(in_.data() + pos, lf - pos);
        pos = lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (discarding_line_ || line.size() > kMaxLine) {
            discarding_line_ = false;
            note("C", "<a line too long>");
            bad_command("500 5.5.2 Line too long");
            continue;
        }
        if (state_ == State::command)
            command(line);
        else
            auth_line(line);
    }
    if (state_ == State::tls || state_ == State::closed)
        in_.clear();  // pipelined plaintext before TLS is never read (RFC 3207)
    else
        in_.erase(0, pos);
}

void Session::reply(std::string_view text) {
    note("S", text.substr(0, text.size() - 2));
    if (!pending_.empty() && pending_.back().kind == Action::send) {
        pending_.back().text.append(text);
    } else {
        Action a;
        a.kind = Action::send;
        a.text = std::string(text);
        pending_.push_back(std::move(a));
    }
}

void Session::note(std::string_view who, std::string_view line) {
    if (transcript_.size() > kMaxTranscript) return;
    // Escaped: the transcript goes to the log, and a client's CR, LF or
    // terminal escape must not forge or hide a line there.
    transcript_.append(who).append(": ").append(escaped(line)).append("\n");
    if (transcript_.size() > kMaxTranscript) transcript_.append("(transcript truncated)\n");
}

void Session::emit_data(std::string_view s) {
    if (s.empty()) return;
    data_size_ += s.size();
    if (data_size_ > config_.max_message_size) too_big_ = true;
    if (too_big_ || (bare_seen_ && config_.bare_lf == BareLf::reject)) return;
    if (!pending_.empty() && pending_.back().kind == Action::data) {
        pending_.back().text.append(s);
    } else {
        Action a;
        a.kind = Action::data;
        a.text = std::string(s);
        pending_.push_back(std::move(a));
    }
}

void Session::end_of_data() {
    note("C", "<message data, " + std::to_string(data_size_) + " bytes>");
    note("C", ".");
    if (too_big_ || (bare_seen_ && config_.bare_lf == BareLf::reject)) {
        pending_.push_back(Action{Action::discard, {}, {}, {}});
        set_state(State::command);
        refused_ = true;
        if (too_big_)
            reply("552 5.3.4 Message too big: the limit is " +
                  std::to_string(config_.max_message_size) + " bytes\r\n");
        else
            reply(
                "550 5.5.2 Message refused: bare LF or CR in the data (end every line with "
                "CRLF)\r\n");
        reset_transaction();
        return;
    }
    envelope_.size = data_size_;
    set_state(State::submitting);
    pending_.push_back(Action{Action::message, {}, {}, {}});
}

void Session::message_result(std::string reply_line) {
    if (state_ != State::submitting) return;
    set_state(State::command);
    reply_line += "\r\n";
    reply(reply_line);
    reset_transaction();
}

void Session::reset_transaction() {
    has_sender_ = false;
    envelope_ = Envelope{};
}

void Session::bad_command(std::string_view text) {
    ++errors_;
    if (errors_ > config_.max_errors) {
        close_with("421 4.7.0 " + config_.hostname + " Too many errors, closing connection");
        return;
    }
    reply(std::string(text) + "\r\n");
}

void Session::close_with(std::string_view text) {
    reply(std::string(text) + "\r\n");
    set_state(State::closed);
    pending_.push_back(Action{Action::close, {}, {}, {}});
}

void Session::command(std::string_view line) {
    const auto sp = line.find(' ');
    const std::string_view verb = line.substr(0, sp);
    const std::string_view arg =
        sp == std::string_view::npos ? std::string_view{} : trim(line.substr(sp + 1));
    if (iequals(verb, "AUTH")) {
        // The mechanism is harmless; an initial response is a secret.
        const auto sp2 = arg.find(' ');
        note("C", "AUTH " + std::string(arg.substr(0, sp2)) +
                      (sp2 == std::string_view::npos ? "" : " ***"));
    } else if (masking_ && !known_verb(verb)) {
        // A client that did not see the AUTH refused goes on with its
        // response lines (user name, password): they are secrets still.
        note("C", "*** (after a refused AUTH)");
    } else {
        masking_ = false;
        note("C", line);
    }
    if (++commands_ > config_.max_commands) {
        refused_ = true;
        close_with("421 4.7.0 " + config_.hostname + " Too many commands, closing connection");
        return;
    }
    if (iequals(verb, "EHLO")) return do_ehlo(arg, true);
    if (iequals(verb, "HELO")) return do_ehlo(arg, false);
    if (iequals(verb, "MAIL")) return do_mail(arg);
    if (iequals(verb, "RCPT")) return do_rcpt(arg);
    if (iequals(verb, "DATA")) {
        if (!arg.empty()) return bad_command("501 5.5.4 DATA takes no argument");
        return do_data();
    }
    if (iequals(verb, "RSET")) {
        reset_transaction();
        return reply("250 2.0.0 Ok\r\n");
    }
    if (iequals(verb, "NOOP")) return reply("250 2.0.0 Ok\r\n");
    if (iequals(verb, "QUIT")) return close_with("221 2.0.0 Bye");
    if (iequals(verb, "VRFY"))
        return reply("252 2.5.2 Cannot VRFY user, but will accept message\r\n");
    if (iequals(verb, "HELP"))
        return reply("214 2.0.0 See RFC 5321; log in with a device account (relay-users)\r\n");
    if (iequals(verb, "STARTTLS")) {
        if (!arg.empty()) return bad_command("501 5.5.4 STARTTLS takes no argument");
        return do_starttls();
    }
    if (iequals(verb, "AUTH")) {
        do_auth(arg);
        // Still reading commands: the AUTH was refused or ended at once.
        masking_ = state_ == State::command && !user_;
        return;
    }
    if (iequals(verb, "BDAT") || iequals(verb, "EXPN") || iequals(verb, "ETRN") ||
        iequals(verb, "TURN"))
        return bad_command("502 5.5.1 Command not implemented");
    bad_command("500 5.5.2 Command not recognized");
}

void Session::do_ehlo(std::string_view arg, bool extended) {
    if (arg.empty()) return bad_command("501 5.5.4 Give your host name: EHLO name");
    reset_transaction();
    greeted_ = true;
    helo_ = arg.substr(0, arg.find(' '));
    esmtp_ = extended;
    if (!extended) return reply("250 " + config_.hostname + "\r\n");
    std::vector<std::string> lines{config_.hostname};
    lines.push_back("SIZE " + std::to_string(config_.max_message_size));
    lines.emplace_back("8BITMIME");
    lines.emplace_back("PIPELINING");
    lines.emplace_back("ENHANCEDSTATUSCODES");
    if (config_.tls_available && !secure_) lines.emplace_back("STARTTLS");
    if (auth_offered()) lines.emplace_back("AUTH PLAIN LOGIN");
    std::string text;
    for (std::size_t i = 0; i < lines.size(); ++i)
        text += "250" + std::string(i + 1 < lines.size() ? "-" : " ") + lines[i] + "\r\n";
    reply(text);
}

void Session::do_mail(std::string_view arg) {
    if (!greeted_) return bad_command("503 5.5.1 Send EHLO or HELO first");
    if (has_sender_) return bad_command("503 5.5.1 Sender already given (RSET to start again)");
    if (!may_relay()) {
        refused_ = true;
        if (config_.tls_available && !secure_ && config_.require_tls)
            return bad_command(
                "530 5.7.0 Authentication required: STARTTLS, then AUTH with a device account");
        return bad_command("530 5.7.0 Authentication required: AUTH with a device account");
    }
    auto path = parse_path(arg, "FROM:");
    if (!path) return bad_command("501 5.5.4 Syntax: MAIL FROM:<address>");
    if (!plausible_address(path->address, !path->address.empty()))
        return bad_command("553 5.1.7 Bad sender address syntax");
    std::string_view params = path->params;
    while (!params.empty()) {
        const auto sp = params.find(' ');
        const std::string_view p = params.substr(0, sp);
        params = sp == std::string_view::npos ? std::string_view{} : trim(params.substr(sp));
        if (istarts_with(p, "SIZE=")) {
            std::uint64_t n = 0;
            const auto v = p.substr(5);
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc{} || end != v.data() + v.size())
                return bad_command("501 5.5.4 Bad SIZE parameter");
            if (n > config_.max_message_size)
                return bad_command("552 5.3.4 Message too big: the limit is " +
                                   std::to_string(config_.max_message_size) + " bytes");
        } else if (iequals(p, "BODY=7BIT") || iequals(p, "BODY=8BITMIME") ||
                   istarts_with(p, "AUTH=")) {
            // 8BITMIME is passed through as is; AUTH= (RFC 4954 5) is informational.
        } else {
            return bad_command("555 5.5.4 Unsupported parameter: " + std::string(p));
        }
    }
    has_sender_ = true;
    envelope_ = Envelope{};
    envelope_.sender = path->address;
    envelope_.user = user_;
    envelope_.helo = helo_;
    envelope_.esmtp = esmtp_;
    reply("250 2.1.0 Ok\r\n");
}

void Session::do_rcpt(std::string_view arg) {
    if (!has_sender_) return bad_command("503 5.5.1 Need MAIL before RCPT");
    if (!may_relay()) {  // MAIL already checks; kept so no path skips it
        refused_ = true;
        return bad_command("554 5.7.1 Relay access denied");
    }
    auto path = parse_path(arg, "TO:");
    if (!path) return bad_command("501 5.5.4 Syntax: RCPT TO:<address>");
    if (!path->params.empty())
        return bad_command("555 5.5.4 Unsupported parameter: " + std::string(path->params));
    if (!plausible_address(path->address, !config_.local_names) || path->address.empty())
        return bad_command("553 5.1.3 Bad recipient address syntax: use user@domain");
    auto& r = envelope_.recipients;
    if (std::find(r.begin(), r.end(), path->address) != r.end())
        return reply("250 2.1.5 Ok\r\n");  // the spool keeps each recipient once
    if (r.size() >= config_.max_recipients)
        return reply("452 4.5.3 Too many recipients: at most " +
                     std::to_string(config_.max_recipients) + " per message\r\n");
    r.push_back(path->address);
    reply("250 2.1.5 Ok\r\n");
}

void Session::do_data() {
    if (!has_sender_) return bad_command("503 5.5.1 Need MAIL command");
    if (envelope_.recipients.empty()) return bad_command("554 5.5.1 No valid recipients");
    reply("354 End data with <CR><LF>.<CR><LF>\r\n");
    set_state(State::data);
    pos_ = DataPos::line_start;
    data_size_ = 0;
    too_big_ = false;
    bare_seen_ = false;
}

void Session::do_starttls() {
    if (secure_) return bad_command("503 5.5.1 TLS already active");
    if (!config_.tls_available) return bad_command("454 4.7.0 TLS not available");
    reply("220 2.0.0 Ready to start TLS\r\n");
    set_state(State::tls);
    pending_.push_back(Action{Action::start_tls, {}, {}, {}});
}

void Session::tls_started() {
    if (state_ != State::tls) return;
    set_state(State::command);
    secure_ = true;
    // Forget everything learned before TLS (RFC 3207 4.2).
    greeted_ = false;
    user_.reset();
    reset_transaction();
    in_.clear();
    discarding_line_ = false;
}

void Session::do_auth(std::string_view arg) {
    if (!greeted_) return bad_command("503 5.5.1 Send EHLO first");
    if (user_) return bad_command("503 5.5.1 Already authenticated");
    if (has_sender_) return bad_command("503 5.5.1 AUTH is not allowed during a mail transaction");
    if (!auth_offered()) {
        refused_ = true;
        return bad_command("538 5.7.11 Encryption required: STARTTLS first");
    }
    const auto sp = arg.find(' ');
    const std::string_view mech = arg.substr(0, sp);
    const std::string_view initial =
        sp == std::string_view::npos ? std::string_view{} : trim(arg.substr(sp + 1));
    if (iequals(mech, "PLAIN")) {
        if (sp == std::string_view::npos) {
            set_state(State::auth_plain);
            return reply("334 \r\n");
        }
        return plain_response(initial);
    }
    if (iequals(mech, "LOGIN")) {
        if (sp == std::string_view::npos) {
            set_state(State::auth_user);
            return reply("334 VXNlcm5hbWU6\r\n");  // "Username:"
        }
        auto user = base64_decode(initial);
        if (!user || user->empty()) return bad_command("501 5.5.2 Bad base64 in the user name");
        login_user_ = *user;
        set_state(State::auth_pass);
        return reply("334 UGFzc3dvcmQ6\r\n");  // "Password:"
    }
    bad_command("504 5.5.4 Unrecognized authentication type: use PLAIN or LOGIN");
}

void Session::plain_response(std::string_view b64) {
    std::optional<std::string> decoded = b64 == "=" ? std::string() : base64_decode(b64);
    std::optional<PlainCredentials> creds;
    if (decoded) {
        creds = parse_plain(*decoded);
        std::fill(decoded->begin(), decoded->end(), '\0');
    }
    if (!creds) {
        set_state(State::command);
        return bad_command(decoded ? "501 5.5.2 Malformed PLAIN response"
                                   : "501 5.5.2 Bad base64 in the AUTH response");
    }
    set_state(State::verifying);
    Action a;
    a.kind = Action::verify_login;
    a.user = creds->user;
    a.password = std::move(creds->password);
    login_user_ = creds->user;
    pending_.push_back(std::move(a));
}

void Session::auth_line(std::string_view line) {
    note("C", "***");  // never the response itself: it carries the password
    if (line == "*") {
        set_state(State::command);
        return bad_command("501 5.0.0 Authentication cancelled");
    }
    switch (state_) {
        case State::auth_plain:
            return plain_response(line);
        case State::auth_user: {
            auto user = base64_decode(line);
            if (!user || user->empty()) {
                set_state(State::command);
                return bad_command("501 5.5.2 Bad base64 in the user name");
            }
            login_user_ = *user;
            set_state(State::auth_pass);
            return reply("334 UGFzc3dvcmQ6\r\n");
        }
        case State::auth_pass: {
            auto pass = base64_decode(line);
            if (!pass) {
                set_state(State::command);
                return bad_command("501 5.5.2 Bad base64 in the password");
            }
            set_state(State::verifying);
            Action a;
            a.kind = Action::verify_login;
            a.user = login_user_;
            a.password = Secret(std::move(*pass));
            pending_.push_back(std::move(a));
            return;
        }
        case State::command:
        case State::verifying:
        case State::data:
        case State::submitting:
        case State::tls:
        case State::closed:
            return;
    }
}

void Session::login_unavailable() {
    if (state_ != State::verifying) return;
    set_state(State::command);
    reply("454 4.7.0 Temporary authentication failure; try again later\r\n");
}

void Session::login_locked() {
    if (state_ != State::verifying) return;
    refused_ = true;
    close_with("421 4.7.0 " + config_.hostname +
               " Too many failed logins from your address; try again later");
}

void Session::login_result(bool ok) {
    if (state_ != State::verifying) return;
    set_state(State::command);
    if (ok) {
        user_ = login_user_;
        note("S", "(logged in as " + login_user_ + ")");
        return reply("235 2.7.0 Authentication successful\r\n");
    }
    refused_ = true;
    ++auth_failures_;
    if (auth_failures_ >= config_.max_auth_failures) {
        reply("535 5.7.8 Authentication credentials invalid\r\n");
        return close_with("421 4.7.0 " + config_.hostname + " Too many failed logins");
    }
    bad_command("535 5.7.8 Authentication credentials invalid");
}

}  // namespace pb::relay
