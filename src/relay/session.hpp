// The relay's SMTP server protocol as a pure state machine: bytes from the
// client go in, actions come out (text to send, message bytes to store, a
// login to check, TLS to start, a message to submit). No I/O, no clock: the
// Asio adapter (server.cpp) does the waiting, so every rule here is tested
// on transcripts split at every byte and fuzzed.
//
// The rules that keep it from being an open relay live here and nowhere
// else: a client may give MAIL FROM only when it logged in or its address
// is in relay.allowed_networks; AUTH is refused before STARTTLS unless the
// administrator allowed it; after STARTTLS everything the client sent in
// plain text and everything the session knew is forgotten (RFC 3207).
//
// The end of data is only CRLF "." CRLF. A bare LF or bare CR in the data
// never ends a line for the purpose of finding that end (the SMTP smuggling
// advisories of December 2023); it is turned into CRLF in the stored message
// (like Postfix 3.9's smtpd_forbid_bare_newline=normalize) or makes the
// message refused after its real end (bare_lf=reject).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret.hpp"
#include "core/trace.hpp"

namespace pb::relay {

enum class BareLf { normalize, reject };

struct SessionConfig {
    std::string hostname = "postbridge";
    std::uint64_t max_message_size = 35 * 1024 * 1024;
    std::size_t max_recipients = 100;
    std::size_t max_commands = 1000;  // per connection
    std::size_t max_errors = 20;      // bad commands before the session is ended
    std::size_t max_auth_failures = 3;
    bool tls_available = false;   // STARTTLS can be offered (a certificate is loaded)
    bool implicit_tls = false;    // the connection is TLS from the start (relay.listen_tls)
    bool require_tls = true;      // relay.require_tls: no AUTH before TLS
    bool client_allowed = false;  // the client's address is in relay.allowed_networks
    // RCPT TO:<root>, a local name without a domain, is taken (sendmail
    // -bs, whose caller is on this machine and whose names are aliases).
    bool local_names = false;
    BareLf bare_lf = BareLf::normalize;
    StateTrace trace;  // told of every state change
};

// What the session wants done next.
struct Action {
    enum Kind {
        need_input,    // feed more bytes (after sending anything queued)
        send,          // write `text` to the client
        data,          // append `text` to the message being received
        verify_login,  // check `user`/`password`, then call login_result()
        start_tls,     // send what is queued, do the TLS handshake, then tls_started()
        message,       // the message is complete: submit it, then message_result()
        discard,       // the message being received is refused: drop what was stored
        close,         // send what is queued and close the connection
    };
    Kind kind = need_input;
    std::string text;
    std::string user;
    Secret password;
};

// The envelope of a message, for `Action::message`.
struct Envelope {
    std::string sender;  // "" for the null reverse path <>
    std::vector<std::string> recipients;
    std::optional<std::string> user;  // the device account that logged in
    std::uint64_t size = 0;           // bytes of the stored message
    std::string helo;                 // the name the client gave in EHLO or HELO
    bool esmtp = true;                // it said EHLO
};

class Session {
  public:
    explicit Session(SessionConfig config);

    // The 220 greeting, or 421 when the server is full (then close).
    std::string greeting() const;
    static std::string busy_reply(std::string_view hostname);

    // Appends bytes from the client. Call next() until it says need_input.
    void feed(std::string_view bytes);
    // The next thing to do. After verify_login, message or start_tls, the
    // session waits (returns need_input without reading) until the matching
    // call below.
    Action next();

    void login_result(bool ok);
    // Too many failed logins from this client: 421 and close, unchecked.
    void login_locked();
    // The check itself failed (the database is busy): 454, try again later.
    void login_unavailable();
    // The reply to the final dot (e.g. "250 2.0.0 Ok: queued as 12"), sent
    // only once the message is durable, or a 4xx/5xx.
    void message_result(std::string reply);
    // After a successful handshake. The caller drops anything it read
    // before; the session has already dropped its own unread input.
    void tls_started();
    // A read timed out: the reply to send before closing.
    static std::string timeout_reply(std::string_view hostname);
    // serve is stopping (SIGTERM): the reply to a client waiting between
    // transactions, before closing.
    static std::string shutdown_reply(std::string_view hostname);

    const Envelope& envelope() const { return envelope_; }
    bool secure() const { return secure_; }
    bool in_data() const { return state_ == State::data; }
    // From MAIL FROM to the reply to the final dot: a transaction that a
    // stopping serve lets finish.
    bool in_transaction() const {
        return has_sender_ || state_ == State::data || state_ == State::submitting;
    }
    // Logged in, or from relay.allowed_networks: may send mail.
    bool authenticated() const { return may_relay(); }
    bool closed() const { return state_ == State::closed; }
    // The session as an administrator needs it after a failure: commands
    // and replies, AUTH blobs and data replaced by a note. Bounded.
    const std::string& transcript() const { return transcript_; }
    // True when something was refused (login, relay, limits): worth logging.
    bool refused() const { return refused_; }

  private:
    enum class State {
        command,     // reading a command line
        auth_plain,  // waiting for the PLAIN response line
        auth_user,   // LOGIN: waiting for the user name
        auth_pass,   // LOGIN: waiting for the password
        verifying,   // a login is being checked
        data,        // reading message data
        submitting,  // the message is being made durable
        tls,         // the TLS handshake is under way
        closed,
    };
    static std::string_view name(State s) noexcept;
    // The one place the state changes.
    void set_state(State next);
    // Data phase: where we are in the current line, for end-of-data and
    // dot-unstuffing. Only a CRLF starts a line here.
    enum class DataPos { line_start, dot, dot_cr, in_line, cr };

    void reply(std::string_view text);  // one or more lines, each CRLF-terminated
    void note(std::string_view who, std::string_view line);
    void command(std::string_view line);
    void auth_line(std::string_view line);
    void do_ehlo(std::string_view arg, bool extended);
    void do_mail(std::string_view arg);
    void do_rcpt(std::string_view arg);
    void do_data();
    void do_auth(std::string_view arg);
    void do_starttls();
    void plain_response(std::string_view b64);
    void bad_command(std::string_view text);
    void close_with(std::string_view text);
    void reset_transaction();
    bool may_relay() const { return user_.has_value() || config_.client_allowed; }
    bool auth_offered() const { return secure_ || !config_.require_tls; }
    void pump();
    bool reading() const;
    void end_of_data();
    void emit_data(std::string_view s);
    void emit_data(char c) { emit_data(std::string_view(&c, 1)); }

    SessionConfig config_;
    State state_ = State::command;
    std::string in_;              // unread input
    std::string out_;             // replies queued
    std::deque<Action> pending_;  // actions ready to hand out, in order
    bool secure_;
    bool greeted_ = false;
    std::optional<std::string> user_;
    std::string login_user_;  // the name being checked
    Secret login_password_;
    bool has_sender_ = false;
    std::string helo_;  // the last EHLO or HELO argument
    bool esmtp_ = true;
    Envelope envelope_;
    std::size_t commands_ = 0;
    std::size_t errors_ = 0;
    std::size_t auth_failures_ = 0;
    bool masking_ = false;          // lines after a refused AUTH stay out of the transcript
    bool discarding_line_ = false;  // a command line was too long: skip to its end
    DataPos pos_ = DataPos::line_start;
    std::uint64_t data_size_ = 0;
    bool too_big_ = false;
    bool bare_seen_ = false;
    std::string transcript_;
    bool refused_ = false;
};

// RFC 4954's SASL PLAIN message: authzid NUL authcid NUL passwd. nullopt
// when malformed or when the authorization identity differs from the
// authentication identity (a device may not act as another).
struct PlainCredentials {
    std::string user;
    Secret password;
};
std::optional<PlainCredentials> parse_plain(std::string_view decoded);

}  // namespace pb::relay
