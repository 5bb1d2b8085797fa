// POP before SMTP: the POP3 login (RFC 1939 USER/PASS, RFC 2595 STLS, or
// POP3S on an implicit TLS port) as a pure state machine, bytes and events
// in, actions out, like smtp/session.hpp. The adapter (client.hpp) carries
// the actions out on a net::Connection; tests and the fuzzer feed server
// bytes split at every position.
//
// A login is all POP before SMTP needs: the server remembers the address a
// mailbox was opened from, and its SMTP side then relays for it for a while.
// So the session logs in, sends QUIT at once and never reads mail.
//
// One state enum; describe() gives each state its timeout and the phase of
// failure reports; set_state() is the one place state changes. Retries are
// not decided here: a failure is a pb::Error with a code, and delivery
// decides (style.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/trace.hpp"

namespace pb::pop3 {

enum class Security {
    none,      // plain POP3 (port 110): the password crosses the network in clear
    starttls,  // port 110, then STLS (RFC 2595); never falls back to plaintext
    ssl_tls,   // POP3S: TLS from the first byte (port 995, RFC 8314)
};

struct SessionConfig {
    Security security = Security::starttls;
    std::string user;  // the Authenticated Account
    Secret password;   // the Authenticated Password
    // Upper bound on any one wait (see describe() for each state's own).
    std::optional<Duration> timeout_limit;
    StateTrace trace;  // told of every state change
};

// A status line of the server: "+OK text" or "-ERR [CODE] text".
struct Response {
    bool ok = false;
    std::string code;  // RFC 2449 extended response code, e.g. "AUTH", "SYS/TEMP"; may be empty
    std::string text;  // the whole line after +OK / -ERR, trimmed
    std::string line;  // the line as received (without CRLF), for reports
};

// Parses one status line; nullopt when it is neither +OK nor -ERR.
std::optional<Response> parse_response(std::string_view line);

// Splits the server's bytes into lines (CRLF, or a bare LF from sloppy
// servers). Lines longer than max_line are an error, not a silent cut: RFC
// 2449 bounds responses at 512 octets, and a server that sends more is not
// speaking POP3.
class LineReader {
  public:
    static constexpr std::size_t max_line = 2048;
    enum class Status { line, need_more, invalid };
    struct Progress {
        Status status;
        std::size_t consumed;
    };
    // Takes bytes up to and including one line end; `line` then holds the
    // line without its end. need_more has consumed everything it was given.
    Progress put(std::string_view bytes);
    std::string take() { return std::exchange(line_, {}); }
    bool mid_line() const noexcept { return !partial_.empty(); }

  private:
    std::string partial_;
    std::string line_;
};

// A redacted, bounded record of the session for the job's history: the
// PASS line is written as "C: PASS <redacted>", server lines are cut to a
// few hundred characters and only the first lines of a long CAPA are kept.
class Transcript {
  public:
    void client(std::string_view line);
    void server(std::string_view line);
    void note(std::string_view text);
    std::string str() const;

  private:
    void add(std::string line);
    std::vector<std::string> lines_;
    std::size_t dropped_ = 0;
};

namespace action {
struct Write {
    std::string bytes;
};
struct WriteSecret {
    Secret bytes;  // the PASS line: reveal() only to write it
};
struct StartTls {};  // handshake now (POP3S at once, or after +OK to STLS)
struct LoggedIn {};  // +OK to PASS: the server has recorded the login
struct Closed {};    // QUIT done (or the server hung up after the login): close
struct Failed {
    Error error;
    std::string phase;
};
}  // namespace action
using Action = std::variant<action::Write, action::WriteSecret, action::StartTls, action::LoggedIn,
                            action::Closed, action::Failed>;

class Session {
  public:
    enum class State {
        connecting,     // waiting for TCP
        tls_handshake,  // POP3S, or after +OK to STLS
        greeting,       // waiting for +OK banner
        capa,           // CAPA sent (starttls only): is STLS offered?
        stls,           // STLS sent
        user,           // USER sent
        pass,           // PASS sent
        quit,           // logged in; QUIT sent
        closed,
        failed,
    };

    struct StateInfo {
        Duration timeout;
        std::string_view phase;  // "while sending PASS"
    };
    static StateInfo describe(State s) noexcept;
    static std::string_view name(State s) noexcept;

    // The account and password must be usable on a POP3 command line:
    // non-empty, no CR, LF or NUL (one would end the command and start
    // another). 652 naming the field otherwise; never echoes the password.
    static Result<void> check(const SessionConfig& config);

    explicit Session(SessionConfig config);

    // Events from the driver.
    void on_connected();
    void on_tls_established();
    void on_bytes(std::string_view bytes);
    void on_timeout();
    void on_closed_by_peer();
    void on_io_error(Error error);

    // The next thing to do, or nullopt when the session waits for input.
    std::optional<Action> next();

    State state() const noexcept { return state_; }
    Duration timeout() const noexcept;
    std::string_view phase() const noexcept { return describe(state_).phase; }
    bool tls_active() const noexcept { return tls_active_; }
    bool logged_in() const noexcept { return logged_in_; }
    const std::vector<std::string>& capabilities() const noexcept { return capabilities_; }
    const Transcript& transcript() const noexcept { return transcript_; }

  private:
    void set_state(State next);
    void on_line(std::string raw);
    std::string scrub(std::string line) const;
    void on_capa_done();
    void send_user();
    void write(std::string_view command);
    void refused(const Response& r, std::string_view what);
    void fail(Errc code, std::string detail);
    void finish(std::string_view note);
    void push(Action a);

    SessionConfig config_;
    State state_ = State::connecting;
    LineReader reader_;
    Transcript transcript_;
    std::deque<Action> actions_;

    bool tls_active_ = false;
    bool logged_in_ = false;
    bool in_capa_list_ = false;  // between +OK to CAPA and its "." line
    std::vector<std::string> capabilities_;
};

}  // namespace pb::pop3
