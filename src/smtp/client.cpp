// The driver loop: carry each Session action out on the connection, feed
// back what happened, read when the session waits for the server.
#include "smtp/client.hpp"

#include <array>
#include <functional>
#include <type_traits>

namespace pb::smtp {

namespace {

constexpr std::size_t read_buffer_size = 16 * 1024;
// Large enough that a multi-megabyte scan goes out in few writes, small
// enough to stay in cache next to the dot-stuffer's output.
constexpr std::size_t body_chunk_size = 64 * 1024;

SessionConfig session_config(const ServerConfig& server, const Credentials& credentials) {
    SessionConfig c;
    c.security = server.security;
    c.auth = credentials.method;
    c.helo_name = server.helo_name;
    c.user = credentials.user;
    c.password = credentials.password;
    c.host = server.host;
    c.port = server.port;
    c.timeout_limit = server.timeout_limit;
    c.allow_plaintext_auth = server.allow_plaintext_auth;
    c.mechanism = credentials.mechanism;
    return c;
}

struct Outcome {
    std::optional<Error> error;
    std::string phase;
    bool maybe_sent = false;
    bool connected = false;
    bool paused = false;  // idle in `ready`, the connection left open
};

// What the driver asks of its caller each time the session is ready:
// submit() or quit() on it and return true, or return false to leave the
// connection open and idle, to be resumed later.
using OnReady = std::function<bool(Session&)>;

}  // namespace

// Carries the Session's actions out on one connection.
class Driver {
  public:
    Driver(const ServerConfig& server, const Credentials& credentials)
        : server_(server),
          credentials_(credentials),
          session_(session_config(server, credentials)) {}

    Session& session() noexcept { return session_; }
    net::Connection& connection() noexcept { return conn_; }
    void set_body(ByteSource* body) noexcept { body_ = body; }

    // Connects, then runs until the session is closed, failed or paused.
    Outcome run(const OnReady& on_ready, const std::function<void(MessageResult&&)>& on_message) {
        bool connected = false;
        if (auto c = conn_.connect(server_.host, server_.port, session_.timeout()); !c) {
            session_.on_io_error(c.error());
        } else {
            connected = true;
            session_.on_connected();
        }
        Outcome out = loop(on_ready, on_message);
        out.connected = connected;
        return out;
    }

    // Goes on from a pause: the session is ready again at once.
    Outcome resume(const OnReady& on_ready,
                   const std::function<void(MessageResult&&)>& on_message) {
        body_asked_ = false;
        if (!on_ready(session_)) return Outcome{{}, {}, false, true, true};
        Outcome out = loop(on_ready, on_message);
        out.connected = true;
        return out;
    }

    // Whether the body of a message was asked for since the last resume():
    // until then nothing of the messages given has left for the server.
    bool body_asked() const noexcept { return body_asked_; }

  private:
    Outcome loop(const OnReady& on_ready, const std::function<void(MessageResult&&)>& on_message) {
        Outcome out;
        std::array<char, read_buffer_size> buffer;
        for (;;) {
            while (auto a = session_.next()) {
                bool finished = false;
                std::visit(
                    [&](auto& act) {
                        using T = std::decay_t<decltype(act)>;
                        // Writes wait in pending_ while the body is read, so
                        // that a message's last chunk and its "." leave in
                        // one write (and one TLS record); everything else
                        // sends them first. A failure drops them unsent.
                        if constexpr (std::is_same_v<T, action::Write>) {
                            pending_ += act.bytes;
                            if (pending_.size() >= body_chunk_size) flush();
                        } else if constexpr (std::is_same_v<T, action::NeedBody>) {
                            body();
                        } else if constexpr (std::is_same_v<T, action::MessageDone>) {
                            on_message(std::move(act.result));  // the server answered it
                        } else if constexpr (std::is_same_v<T, action::Closed>) {
                            pending_.clear();
                            finished = true;
                        } else if constexpr (std::is_same_v<T, action::Failed>) {
                            pending_.clear();
                            out.error = std::move(act.error);
                            out.phase = std::move(act.phase);
                            out.maybe_sent = act.maybe_sent;
                            finished = true;
                        } else if (!flush()) {
                            // failed: the session has the error, and says so next
                        } else if constexpr (std::is_same_v<T, action::WriteSecret>) {
                            write(act.bytes.reveal());  // the AUTH line leaves the process here
                        } else if constexpr (std::is_same_v<T, action::StartTls>) {
                            if (auto t = conn_.start_tls(server_.tls, session_.timeout()); t)
                                session_.on_tls_established();
                            else
                                session_.on_io_error(t.error());
                        } else if constexpr (std::is_same_v<T, action::NeedToken>) {
                            token(act.forced);
                        } else if constexpr (std::is_same_v<T, action::Ready>) {
                            if (!on_ready(session_)) out.paused = finished = true;
                        }
                    },
                    *a);
                if (finished) {
                    if (!out.paused) conn_.close();
                    return out;
                }
            }
            if (!pending_.empty()) {
                (void)flush();  // then back to the actions: a failure is one
                continue;
            }
            auto n = conn_.read_some(buffer, session_.timeout());
            if (!n) {
                if (n.error().code == Errc::timed_out)
                    session_.on_timeout();
                else
                    session_.on_io_error(n.error());
            } else if (*n == 0) {
                session_.on_closed_by_peer();
            } else {
                session_.on_bytes(std::string_view(buffer.data(), *n));
            }
        }
    }

    void write(std::string_view bytes) {
        if (auto w = conn_.write(bytes, session_.timeout()); !w) session_.on_io_error(w.error());
    }

    // Sends what waits in pending_; false when that failed (the session was told).
    bool flush() {
        if (pending_.empty()) return true;
        auto w = conn_.write(pending_, session_.timeout());
        pending_.clear();
        if (!w) session_.on_io_error(w.error());
        return w.ok();
    }

    void token(bool forced) {
        if (!credentials_.tokens) {
            session_.on_token_error(
                fail(Errc::not_signed_in, "no access token source for this profile"));
            return;
        }
        auto t = credentials_.tokens->access_token(forced);
        if (t)
            session_.on_token(std::move(*t));
        else
            session_.on_token_error(t.error());
    }

    void body() {
        body_asked_ = true;
        if (!body_) {
            session_.on_body_error(fail(Errc::invalid_input, "the message has no body source"));
            return;
        }
        body_buffer_.resize(body_chunk_size);
        auto n = body_->read(body_buffer_);
        if (!n)
            session_.on_body_error(n.error());
        else if (*n == 0)
            session_.on_body_end();
        else
            session_.on_body(std::string_view(body_buffer_.data(), *n));
    }

    const ServerConfig& server_;
    const Credentials& credentials_;
    Session session_;
    net::Connection conn_;
    ByteSource* body_ = nullptr;
    std::vector<char> body_buffer_;
    bool body_asked_ = false;
    std::string pending_;  // bytes written by the session, not yet sent
};

bool SendReport::ok() const noexcept {
    if (error) return false;
    for (const auto& m : messages)
        if (!m.ok()) return false;
    return true;
}

Sender::Sender(ServerConfig server, Credentials credentials)
    : server_(std::move(server)), credentials_(std::move(credentials)) {}

Sender::~Sender() = default;

bool Sender::reusable() const {
    return driver_ && driver_->session().state() == Session::State::ready &&
           driver_->connection().quiet();
}

SendReport Sender::send(std::span<OutgoingMessage> messages, const ResultHook& on_result) {
    bool broke_on_reuse = false;
    if (driver_ && reusable()) {
        driver_->session().note("-- connection reused for " + std::to_string(messages.size()) +
                                " more message(s)");
        SendReport report = drive(messages, on_result, true);
        // A server may drop an idle connection just as it is taken up again.
        // When that broke it before any message went out, nothing was sent
        // and nobody was told anything: the batch starts over on a new one.
        if (!report.error || answered_ != 0 || body_asked_) return report;
        broke_on_reuse = true;
    }
    driver_ = std::make_unique<Driver>(server_, credentials_);
    if (broke_on_reuse)
        driver_->session().note("-- the connection kept open broke on reuse; a new one");
    return drive(messages, on_result, false);
}

SendReport Sender::drive(std::span<OutgoingMessage> messages, const ResultHook& on_result,
                         bool resume) {
    SendReport report;
    std::size_t next = 0;
    const OnReady on_ready = [&](Session& s) {
        if (next == messages.size()) {
            if (keep_open_) return false;
            s.quit();
            return true;
        }
        OutgoingMessage& m = messages[next++];
        Envelope env = m.envelope;
        if (!env.size && m.body) env.size = m.body->size_hint();
        driver_->set_body(m.body);
        s.submit(std::move(env));
        return true;
    };
    auto on_message = [&](MessageResult&& r) {
        if (on_result) on_result(report.messages.size(), r);
        report.messages.push_back(std::move(r));
    };
    const Outcome out =
        resume ? driver_->resume(on_ready, on_message) : driver_->run(on_ready, on_message);
    answered_ = report.messages.size();
    body_asked_ = driver_->body_asked();
    if (out.error) {
        // The message in flight (if any) failed with the session; the ones
        // never started share the error so that each job gets a code.
        bool in_flight = next > report.messages.size();
        while (report.messages.size() < messages.size()) {
            MessageResult r;
            r.error = out.error;
            r.phase = out.phase;
            r.maybe_sent = in_flight && out.maybe_sent;
            in_flight = false;
            report.messages.push_back(std::move(r));
        }
        report.error = out.error;
        report.phase = out.phase;
    }
    report.transcript = driver_->session().transcript().str();
    if (!out.paused) driver_.reset();
    return report;
}

void Sender::quit() {
    if (!driver_ || driver_->session().state() != Session::State::ready) {
        driver_.reset();
        return;
    }
    (void)driver_->resume(
        [](Session& s) {
            s.quit();
            return true;
        },
        [](MessageResult&&) {});
    driver_.reset();
}

SendReport send(const ServerConfig& server, const Credentials& credentials,
                std::span<OutgoingMessage> messages, const ResultHook& on_result) {
    Sender sender(server, credentials);
    sender.keep_open(false);
    return sender.send(messages, on_result);
}

ConnectionTest test_connection(const ServerConfig& server, const Credentials& credentials) {
    ConnectionTest t;
    Driver driver(server, credentials);
    bool reached_ready = false;
    const Outcome out = driver.run(
        [&](Session& s) {
            reached_ready = true;
            t.capabilities = s.capabilities();
            s.quit();
            return true;
        },
        [](MessageResult&&) {});
    Session& s = driver.session();
    t.certificate = driver.connection().peer_certificate();

    const std::string_view phase = out.phase;
    auto failed_in = [&](std::initializer_list<std::string_view> phases) {
        for (auto p : phases)
            if (phase == p) return true;
        return false;
    };
    auto step = [&](std::string name, bool ok, std::string detail) {
        t.steps.push_back(
            {std::move(name), ok, ok || !out.error ? std::move(detail) : out.error->describe()});
    };

    // Each step runs only when the one before it succeeded.
    [&] {
        step("connect", out.connected, server.host + ":" + std::to_string(server.port));
        if (!out.connected) return;

        if (server.security != Security::none) {
            const bool ok = s.tls_active();
            std::string detail;
            if (t.certificate) {
                detail = driver.connection().tls_version() + ", subject " + t.certificate->subject +
                         ", issuer " + t.certificate->issuer + ", valid " +
                         format_rfc3339(t.certificate->not_before) + " to " +
                         format_rfc3339(t.certificate->not_after);
                if (!t.certificate->verified)
                    detail += " (certificate not verified: verify_cert is off)";
            }
            step("tls", ok, std::move(detail));
            if (!ok) return;
        }
        {
            const bool ehlo_ok =
                !(out.error && failed_in({Session::describe(Session::State::greeting).phase,
                                          Session::describe(Session::State::ehlo).phase,
                                          Session::describe(Session::State::helo).phase}));
            std::string ext;
            const auto& caps = reached_ready ? t.capabilities : s.capabilities();
            if (caps.size) ext += "SIZE " + std::to_string(*caps.size) + " ";
            if (caps.pipelining) ext += "PIPELINING ";
            if (caps.eightbitmime) ext += "8BITMIME ";
            if (caps.smtputf8) ext += "SMTPUTF8 ";
            for (const auto& m : caps.auth) ext += "AUTH=" + m + " ";
            step("ehlo", ehlo_ok, ext);
            if (!ehlo_ok) return;
        }
        if (credentials.method != AuthMethod::off)
            step("auth", s.authenticated(), std::string(s.mechanism()));
    }();

    if (out.error) t.error = out.error;
    t.transcript = s.transcript().str();
    return t;
}

}  // namespace pb::smtp
