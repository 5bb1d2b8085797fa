// The settings as the program uses them: typed structs, filled from the
// schema in settings.cpp (each key names the member it fills) once per
// reload. Code reads `cfg.smtp_port`, not a string key, so a misspelt
// setting is a compile error rather than a silent default.
//
// A choice the code branches on is an enum whose order is the order of its
// canonical names (kAuthMethods...); a value that is only passed on as
// written stays a string (relay.tls_min_version, the listen addresses).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pb::settings {

using namespace std::string_view_literals;

enum class AuthMethod { off, smtp_auth, pop_before_smtp, oauth2 };
inline constexpr std::array kAuthMethods = {"off"sv, "smtp-auth"sv, "pop-before-smtp"sv,
                                            "oauth2"sv};

enum class Service { exchange_online, outlook_com, gmail, custom };
inline constexpr std::array kServices = {"exchange-online"sv, "outlook-com"sv, "gmail"sv,
                                         "custom"sv};

enum class Security { none, ssl_tls, starttls };
inline constexpr std::array kSecurity = {"none"sv, "ssl-tls"sv, "starttls"sv};

enum class Grant { device, authorization_code, client_credentials };
inline constexpr std::array kGrants = {"device"sv, "authorization-code"sv, "client-credentials"sv};

// auto: SMTP, and Graph by itself once the server says SMTP AUTH is off
// for the mailbox or tenant (5.7.139).
enum class Transport { smtp, graph, auto_ };
inline constexpr std::array kTransports = {"smtp"sv, "graph"sv, "auto"sv};

enum class SenderPolicy { keep, rewrite };
inline constexpr std::array kSenderPolicies = {"keep"sv, "rewrite"sv};

enum class BareLf { normalize, reject };
inline constexpr std::array kBareLf = {"normalize"sv, "reject"sv};

inline constexpr std::array kTlsVersions = {"1.0"sv, "1.1"sv, "1.2"sv, "1.3"sv};

// The canonical name of a choice ("oauth2", "exchange-online"), as the CLI,
// the JSON and the stored settings write it.
std::string_view to_string(AuthMethod v) noexcept;
std::string_view to_string(Service v) noexcept;
std::string_view to_string(Security v) noexcept;
std::string_view to_string(Grant v) noexcept;
std::string_view to_string(Transport v) noexcept;
std::string_view to_string(SenderPolicy v) noexcept;
std::string_view to_string(BareLf v) noexcept;

// One profile (email, fax, user:NAME) with presets and inheritance applied.
// Secrets (password, oauth.client_secret) are not here: the store keeps
// them sealed and hands them out where they are used.
struct ProfileConfig {
    AuthMethod auth_method{};
    Service service{};
    std::string sender;
    std::string account;

    std::string smtp_host;
    std::uint16_t smtp_port = 0;
    Security smtp_security{};
    bool smtp_verify_cert = true;
    bool smtp_allow_plaintext_auth = false;
    std::chrono::seconds smtp_timeout{};  // 0: the RFC 5321 waits

    std::string pop3_host;
    std::uint16_t pop3_port = 0;
    Security pop3_security{};

    std::string oauth_client_id;
    std::string oauth_tenant;
    std::string oauth_authority;  // Microsoft's cloud instance
    std::string oauth_issuer;
    std::string oauth_scopes;
    Grant oauth_grant{};
    std::string oauth_redirect_uri;
    std::chrono::seconds oauth_refresh_margin{};
    std::chrono::seconds oauth_keepalive_interval{};
    std::chrono::seconds oauth_inactivity_limit{};  // 0: the provider's is not known

    std::string proxy_url;
    Transport transport{};
    std::string graph_endpoint;  // "https://graph.microsoft.com/v1.0"
    std::string graph_scopes;    // space-separated
    bool graph_save_to_sent_items = true;
    std::string graph_resource;  // RFC 8707 resource indicator (custom issuers), or
    int delivery_concurrency = 0;
    int delivery_rate_limit = 0;
    std::chrono::seconds delivery_max_age{};
    bool hold_when_signed_out = true;
    SenderPolicy sender_policy{};
};

struct GlobalConfig {
    std::string web_listen;  // ADDR:PORT
    bool web_tls = true;
    std::string web_cert;
    std::string web_key;
    std::chrono::seconds web_session_timeout{};
    std::string web_hostnames;  // comma-separated host names

    std::int64_t history_max_jobs = 0;
    std::chrono::seconds history_max_age{};

    std::string proxy_url;

    std::string relay_listen;      // ADDR:PORT or "" (off)
    std::string relay_listen_tls;  // ADDR:PORT or "" (off)
    std::string relay_profile;
    std::string relay_allowed_networks;  // comma-separated CIDRs
    bool relay_require_tls = true;
    std::string relay_tls_min_version;  // one of kTlsVersions
    std::uint64_t relay_max_message_size = 0;
    std::size_t relay_max_recipients = 0;
    std::size_t relay_max_connections = 0;
    std::size_t relay_max_connections_per_client = 0;
    SenderPolicy relay_sender_policy{};
    BareLf relay_bare_lf{};
    bool relay_dsn = true;

    std::string aliases;                // the aliases file's path (sendmail's local names)
    std::int64_t local_rate_limit = 0;  // local submissions per user and minute; 0 = none

    std::string metrics_allowed_networks;  // comma-separated CIDRs
    std::string notify_email;              // "" (off)
    std::chrono::seconds notify_queue_age{};
};

}  // namespace pb::settings
