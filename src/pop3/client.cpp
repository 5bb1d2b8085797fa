// The driver loop: carry each Session action out on the connection, feed
// back what happened, read (with the state's deadline) when the session
// waits for the server.
#include "pop3/client.hpp"

#include <array>
#include <type_traits>

namespace pb::pop3 {

namespace {

constexpr std::size_t read_buffer_size = 4096;

}  // namespace

LoginReport login_report(const Config& config) {
    LoginReport report;
    SessionConfig sc;
    sc.security = config.security;
    sc.user = config.user;
    sc.password = config.password;
    sc.timeout_limit = config.timeout;
    if (auto ok = Session::check(sc); !ok) {
        report.error = ok.error();
        report.phase = std::string(Session::describe(Session::State::connecting).phase);
        return report;
    }

    Session session(std::move(sc));
    net::Connection conn;
    if (auto c = conn.connect(config.host, config.port, session.timeout()); !c)
        session.on_io_error(c.error());
    else
        session.on_connected();

    std::array<char, read_buffer_size> buffer;
    for (;;) {
        bool finished = false;
        while (auto a = session.next()) {
            std::visit(
                [&](auto& act) {
                    using T = std::decay_t<decltype(act)>;
                    if constexpr (std::is_same_v<T, action::Write>) {
                        if (auto w = conn.write(act.bytes, session.timeout()); !w)
                            session.on_io_error(w.error());
                    } else if constexpr (std::is_same_v<T, action::WriteSecret>) {
                        // The PASS line leaves the process here, and only here.
                        if (auto w = conn.write(act.bytes.reveal(), session.timeout()); !w)
                            session.on_io_error(w.error());
                    } else if constexpr (std::is_same_v<T, action::StartTls>) {
                        if (auto t = conn.start_tls(config.tls, session.timeout()); t)
                            session.on_tls_established();
                        else
                            session.on_io_error(t.error());
                    } else if constexpr (std::is_same_v<T, action::LoggedIn>) {
                        // Nothing to do: the session sends QUIT itself.
                    } else if constexpr (std::is_same_v<T, action::Closed>) {
                        finished = true;
                    } else if constexpr (std::is_same_v<T, action::Failed>) {
                        report.error = std::move(act.error);
                        report.phase = std::move(act.phase);
                        finished = true;
                    }
                },
                *a);
            if (finished) break;
        }
        if (finished) break;
        auto n = conn.read_some(buffer, session.timeout());
        if (!n) {
            if (n.error().code == Errc::timed_out)
                session.on_timeout();
            else
                session.on_io_error(n.error());
        } else if (*n == 0) {
            session.on_closed_by_peer();
        } else {
            session.on_bytes(std::string_view(buffer.data(), *n));
        }
    }
    report.certificate = conn.peer_certificate();
    report.tls = session.tls_active();
    conn.close();
    report.transcript = session.transcript().str();
    return report;
}

Result<void> login(const Config& config) {
    LoginReport r = login_report(config);
    if (r.error) return std::move(*r.error);
    return {};
}

Result<Config> pop3_config(const settings::ProfileConfig& settings, std::string_view profile,
                           Secret password, std::span<const std::string> ca_files) {
    const std::string p(profile);
    Config c;
    c.host = settings.pop3_host;
    if (c.host.empty())
        return fail(Errc::invalid_input,
                    p + ": POP before SMTP needs the POP3 Server Address: set " + p + ".pop3.host");
    c.user = settings.account;
    if (c.user.empty())
        return fail(Errc::invalid_input, p +
                                             ": POP before SMTP needs the Authenticated Account: "
                                             "set " +
                                             p + ".account");
    switch (settings.pop3_security) {
        case settings::Security::none:
            c.security = Security::none;
            break;
        case settings::Security::ssl_tls:
            c.security = Security::ssl_tls;
            break;
        case settings::Security::starttls:
            c.security = Security::starttls;
            break;
    }
    c.port = settings.pop3_port;
    c.tls.verify = settings.smtp_verify_cert;
    c.tls.ca_files.assign(ca_files.begin(), ca_files.end());
    c.password = std::move(password);
    return c;
}

}  // namespace pb::pop3
