// POP before SMTP, the I/O side: log in to the POP3 server over a
// net::Connection (TCP, STLS or POP3S, certificate checks, a deadline on
// every read and write), then QUIT. What delivery and test-connection call
// before an SMTP session of a profile with auth_method=pop-before-smtp.
//
// Synchronous, like smtp::send: one connection on the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/settings.hpp"
#include "net/connection.hpp"
#include "pop3/session.hpp"

namespace pb::pop3 {

struct Config {
    std::string host;
    std::uint16_t port = 110;
    Security security = Security::starttls;
    net::TlsOptions tls;  // verify, system store, extra CA files
    std::string user;     // the profile's Authenticated Account
    Secret password;      // the profile's Authenticated Password
    // The longest any one step (connect, handshake, each read and write)
    // may wait.
    Duration timeout = std::chrono::seconds(30);
};

struct LoginReport {
    std::optional<Error> error;  // nullopt: logged in
    std::string phase;           // where it failed
    std::string transcript;      // redacted ("C: PASS <redacted>")
    std::optional<net::CertificateInfo> certificate;
    bool tls = false;
    bool ok() const noexcept { return !error; }
};

// Logs in and quits. Errors carry postbridge's codes: 652 account or
// password unusable (checked before connecting), 601/602/603 network,
// 611/612/613 TLS, 614 STLS refused or not offered, 622 the server refused
// the account or password, 641 the server is busy or not speaking POP3.
Result<void> login(const Config& config);
// The same, with the transcript and certificate for a job record or the
// Connection Test page.
LoginReport login_report(const Config& config);

// A profile's POP3 settings as a Config: pop3.host, pop3.port,
// pop3.security (none, starttls, ssl-tls), smtp.verify_cert (the page has
// one Certificate Validation), `account`; the password comes from the
// store (setting:PROFILE.password, or email's for a user profile) and the
// imported CA files from store.ca_files(). 652 naming the setting when
// pop3.host or account is missing.
Result<Config> pop3_config(const settings::ProfileConfig& settings, std::string_view profile,
                           Secret password, std::span<const std::string> ca_files);

}  // namespace pb::pop3
