// The SMTP submission client as a pure state machine: bytes and events in,
// actions out. No sockets, no clock, no threads: the adapter (client.hpp)
// feeds it what the network did and carries out what it asks, and the tests
// feed it scripted server bytes split at every position.
//
// One state enum; one switch (describe()) gives each state its timeout and
// the phase text of failure reports; one function (set_state) changes state.
// The phase "while sending end of data" is the window where the server may
// have taken the message although we never saw its reply: a resend may
// duplicate it, and the failure says so (maybe_sent).
//
// What happens after a failure -- retry, fail, hold -- is not decided here:
// the session reports a pb::Error with the code and the phase, and the
// delivery part decides.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/trace.hpp"
#include "smtp/capabilities.hpp"
#include "smtp/dot_stuffer.hpp"
#include "smtp/reply.hpp"
#include "smtp/sasl.hpp"
#include "smtp/transcript.hpp"

namespace pb::smtp {

enum class Security { none, starttls, ssl_tls };

struct SessionConfig {
    Security security = Security::starttls;
    AuthMethod auth = AuthMethod::oauth2;
    std::string helo_name = "localhost";  // our name in EHLO
    std::string user;                     // SASL identity (the account)
    Secret password;                      // smtp-auth only
    std::string host;                     // the server, for OAUTHBEARER host=/port=
    std::uint16_t port = 0;
    // A SASL mechanism the administrator insists on (e.g. OAUTHBEARER);
    // empty: chosen from what the server offers.
    std::string mechanism;
    // Upper bound on any one wait, whatever the RFC 5321 figure for the
    // state: a device may prefer failing in a minute to waiting ten.
    std::optional<Duration> timeout_limit;
    // AUTH over a connection without TLS (security none): off, the session
    // fails with 615 before any AUTH, of whatever mechanism, goes out.
    bool allow_plaintext_auth = false;
    StateTrace trace;  // told of every state change
};

struct Envelope {
    std::string from;
    std::vector<std::string> to;
    std::optional<std::uint64_t> size;  // the message's size, for SIZE= and the early 633
    bool eight_bit = false;             // the body has 8-bit bytes: BODY=8BITMIME when offered
    // RFC 3461, passed on when the server offers DSN (sendmail -N, -R):
    // NOTIFY= on each RCPT ("NEVER" or e.g. "SUCCESS,FAILURE") and RET= on
    // MAIL ("FULL" or "HDRS"); empty: the server's default.
    std::string dsn_notify = {};
    std::string dsn_ret = {};
};

struct RecipientResult {
    std::string address;
    Reply reply;
    std::optional<Errc> code;  // nullopt: accepted
    bool accepted() const noexcept { return !code; }
};

struct MessageResult {
    std::vector<RecipientResult> recipients;
    std::optional<Error> error;  // nullopt: accepted for every accepted recipient
    std::string phase;           // where it failed
    bool maybe_sent = false;     // failed while sending end of data: a resend may duplicate
    Reply reply;                 // the server's last word on this message (250 ... queued as X)
    bool ok() const noexcept { return !error; }
};

// What the session asks of its driver.
namespace action {
struct Write {
    std::string bytes;
};
struct WriteSecret {
    Secret bytes;
};                   // AUTH lines: reveal() only to write them
struct StartTls {};  // handshake now (implicit TLS, or after 220 to STARTTLS)
struct NeedToken {
    bool forced;
};                   // forced: the last token was rejected, refresh it
struct NeedBody {};  // call on_body() or on_body_end()
struct Ready {};     // authenticated and idle: submit() or quit()
struct MessageDone {
    MessageResult result;
};
struct Closed {};  // QUIT answered; close the connection
struct Failed {
    Error error;
    std::string phase;
    bool maybe_sent;
};
}  // namespace action
using Action = std::variant<action::Write, action::WriteSecret, action::StartTls, action::NeedToken,
                            action::NeedBody, action::Ready, action::MessageDone, action::Closed,
                            action::Failed>;

class Session {
  public:
    enum class State {
        connecting,     // waiting for the TCP connection
        tls_handshake,  // implicit TLS, or after the 220 to STARTTLS
        greeting,       // waiting for the 220 banner
        ehlo,
        helo,
        starttls,
        auth_token,      // waiting for the token provider
        auth,            // AUTH sent, answering 334s until 235 or a failure
        auth_error_ack,  // error challenge answered; waiting for the final 5xx
        ready,           // idle between messages
        mail,
        rcpt,
        data,
        body,      // streaming the message
        data_end,  // "." sent: a lost reply here may mean a duplicate
        rset,
        quit,
        closed,
        failed,
    };

    struct StateInfo {
        Duration timeout;
        std::string_view phase;  // "while sending RCPT TO"
        bool maybe_sent;
    };
    static StateInfo describe(State s) noexcept;
    static std::string_view name(State s) noexcept;

    explicit Session(SessionConfig config);

    // Events from the driver.
    void on_connected();
    void on_tls_established();
    void on_bytes(std::string_view bytes);
    void on_token(Secret token);
    void on_token_error(Error error);
    void on_body(std::string_view chunk);
    void on_body_end();
    void on_body_error(Error error);
    void on_timeout();
    void on_closed_by_peer();
    void on_io_error(Error error);

    // Commands from the driver, valid in `ready`.
    void submit(Envelope envelope);
    void quit();

    // The next thing to do, or nullopt when the session waits for input.
    std::optional<Action> next();

    State state() const noexcept { return state_; }
    Duration timeout() const noexcept;
    std::string_view phase() const noexcept { return describe(state_).phase; }
    const Capabilities& capabilities() const noexcept { return caps_; }
    bool tls_active() const noexcept { return tls_active_; }
    bool authenticated() const noexcept { return authenticated_; }
    std::string_view mechanism() const noexcept { return mechanism_; }
    const Transcript& transcript() const noexcept { return transcript_; }
    void note(std::string_view text) { transcript_.note(text); }  // "-- ..." in the transcript

  private:
    void set_state(State next);
    void on_reply(Reply reply);
    void after_ehlo();
    void start_auth();
    void send_auth();
    void auth_failed(const Reply& reply);
    void send_rcpt(std::size_t index);
    void finish_recipients();
    void message_failed(Error error, bool in_transaction);
    void enter_ready();
    void write(std::string_view command);
    void fail(Errc code, std::string detail);
    void push(Action a);

    SessionConfig config_;
    State state_ = State::connecting;
    ReplyParser parser_;
    Capabilities caps_;
    Transcript transcript_;
    std::deque<Action> actions_;

    bool tls_active_ = false;
    bool authenticated_ = false;
    bool forced_refresh_done_ = false;
    std::string mechanism_;
    std::unique_ptr<Mechanism> mech_;

    Envelope envelope_;
    MessageResult message_;
    std::optional<Error> mail_error_;  // MAIL refused; pipelined RCPT replies still to read
    std::size_t rcpt_sent_ = 0;
    std::size_t rcpt_replied_ = 0;
    std::uint64_t body_bytes_ = 0;
    DotStuffer stuffer_;
};

// True when an address needs SMTPUTF8 (RFC 6531): any byte outside ASCII.
bool needs_smtputf8(std::string_view address) noexcept;

}  // namespace pb::smtp
