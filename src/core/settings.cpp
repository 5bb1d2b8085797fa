#include "core/settings.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <type_traits>

#include <fmt/format.h>

#include "core/host_port.hpp"
#include "core/text.hpp"

namespace pb::settings {
namespace {

using namespace std::string_view_literals;

std::optional<std::int64_t> parse_int(std::string_view s);

// The member a key fills; its struct gives the key's scope.
template <class M>
struct MemberOf;
template <class C, class T>
struct MemberOf<T C::*> {
    using Class = C;
    using Value = T;
};

template <class T>
std::optional<T> parse_as(const KeyDef& d, std::string_view v) {
    if constexpr (std::is_same_v<T, std::string>) {
        return std::string(v);
    } else if constexpr (std::is_same_v<T, bool>) {
        return parse_bool(v);
    } else if constexpr (std::is_same_v<T, std::chrono::seconds>) {
        return parse_duration(v);
    } else if constexpr (std::is_enum_v<T>) {
        for (std::size_t i = 0; i < d.choices.size(); ++i)
            if (d.choices[i] == v) return static_cast<T>(i);
        return std::nullopt;
    } else {
        static_assert(std::is_integral_v<T>);
        std::optional<T> out;
        if (d.type == Type::size) {
            if (auto n = parse_size(v)) out = static_cast<T>(*n);
        } else if (auto n = parse_int(v); n && *n >= 0) {
            out = static_cast<T>(*n);
        }
        return out;
    }
}

template <auto M>
constexpr Target to() {
    using C = typename MemberOf<decltype(M)>::Class;
    using T = typename MemberOf<decltype(M)>::Value;
    static_assert(std::is_same_v<C, ProfileConfig> || std::is_same_v<C, GlobalConfig>);
    return {std::is_same_v<C, ProfileConfig> ? Scope::profile : Scope::global,
            [](void* config, const KeyDef& d, std::string_view v) {
                // A stored value was checked when it was set; should one not
                // parse after all, the default serves.
                auto parsed = parse_as<T>(d, v);
                if (!parsed) parsed = parse_as<T>(d, d.default_value);
                static_cast<C*>(config)->*M = parsed.value_or(T{});
            }};
}
constexpr Target kSealed{Scope::profile};  // a secret: the store keeps it sealed

// The schema. Profile keys first, in the order of the manual's Basic page.
constexpr std::array kSchema = {
    KeyDef{"auth_method", Type::choice, to<&ProfileConfig::auth_method>(), "off",
           "How postbridge authenticates to the email server.", "Authentication Method",
           kAuthMethods},
    KeyDef{"service", Type::choice, to<&ProfileConfig::service>(), "exchange-online",
           "The email service; setting it fills the server, port, security, tenant, scopes and "
           "rate limit from its preset.",
           "Email service", kServices},
    KeyDef{"sender", Type::address, to<&ProfileConfig::sender>(), "",
           "The address mail is sent from.", "Sender's Email Address"},
    KeyDef{"account", Type::string, to<&ProfileConfig::account>(), "",
           "The account that authenticates (SMTP AUTH user; for OAuth2 a shared mailbox to send "
           "as, else the signed-in account).",
           "Authenticated Account"},
    KeyDef{"password", Type::secret, kSealed, "",
           "The account's password (smtp-auth, pop-before-smtp).", "Authenticated Password"},
    KeyDef{"smtp.host", Type::host, to<&ProfileConfig::smtp_host>(), "", "The SMTP server.",
           "SMTP Server Address"},
    KeyDef{"smtp.port", Type::port, to<&ProfileConfig::smtp_port>(), "587",
           "The SMTP server's port.", "SMTP Server Port Number"},
    KeyDef{"smtp.security", Type::choice, to<&ProfileConfig::smtp_security>(), "starttls",
           "none, ssl-tls (implicit TLS, port 465) or starttls (port 587).", "Secure Connection",
           kSecurity},
    KeyDef{"smtp.verify_cert", Type::boolean, to<&ProfileConfig::smtp_verify_cert>(), "true",
           "Check the server's certificate and name.", "Certificate Validation"},
    KeyDef{"smtp.allow_plaintext_auth", Type::boolean,
           to<&ProfileConfig::smtp_allow_plaintext_auth>(), "false",
           "Sign in (AUTH) even when Secure Connection is None, in clear text."},
    KeyDef{"smtp.timeout",
           Type::duration,
           to<&ProfileConfig::smtp_timeout>(),
           "0",
           "The longest wait for the SMTP server at any one step (0 = the RFC 5321 waits, up to "
           "5 minutes for the greeting and 10 after the end of data).",
           "",
           {},
           0,
           3600},
    KeyDef{"pop3.host", Type::host, to<&ProfileConfig::pop3_host>(), "",
           "The POP3 server (pop-before-smtp).", "POP3 Server Address"},
    KeyDef{"pop3.port", Type::port, to<&ProfileConfig::pop3_port>(), "110",
           "The POP3 server's port.", "POP3 Server Port Number"},
    KeyDef{"pop3.security", Type::choice, to<&ProfileConfig::pop3_security>(), "starttls",
           "none, ssl-tls (POP3S, port 995) or starttls (STLS).", "", kSecurity},
    KeyDef{"oauth.client_id", Type::string, to<&ProfileConfig::oauth_client_id>(), "",
           "The app registration's client id (set once by the administrator)."},
    KeyDef{"oauth.tenant", Type::string, to<&ProfileConfig::oauth_tenant>(), "",
           "Microsoft tenant: organizations, consumers, common or a tenant id."},
    KeyDef{"oauth.authority", Type::url, to<&ProfileConfig::oauth_authority>(),
           "https://login.microsoftonline.com",
           "Microsoft's sign-in cloud: https://login.microsoftonline.us (US Government) or "
           "https://login.partner.microsoftonline.cn (21Vianet) for national clouds."},
    KeyDef{"oauth.issuer", Type::url, to<&ProfileConfig::oauth_issuer>(), "",
           "The OAuth 2.0 / OIDC issuer of a custom service (found by discovery)."},
    KeyDef{"oauth.scopes", Type::string, to<&ProfileConfig::oauth_scopes>(), "",
           "Space-separated scopes to request."},
    KeyDef{"oauth.grant", Type::choice, to<&ProfileConfig::oauth_grant>(), "device",
           "device (code shown on the page), authorization-code (PKCE, Gmail) or "
           "client-credentials (app-only).",
           "", kGrants},
    KeyDef{"oauth.client_secret", Type::secret, kSealed, "",
           "The client secret (client-credentials; Google clients)."},
    KeyDef{"oauth.redirect_uri", Type::url, to<&ProfileConfig::oauth_redirect_uri>(),
           "http://127.0.0.1/callback",
           "Where the browser returns after an authorization-code sign-in."},
    KeyDef{"oauth.refresh_margin",
           Type::duration,
           to<&ProfileConfig::oauth_refresh_margin>(),
           "5m",
           "Refresh the access token this long before it expires.",
           "",
           {},
           0,
           3600},
    KeyDef{"oauth.keepalive_interval",
           Type::duration,
           to<&ProfileConfig::oauth_keepalive_interval>(),
           "7d",
           "Refresh an unused sign-in this often so it never lapses (0 = off).",
           "",
           {},
           0,
           180 * 86400},
    KeyDef{"oauth.inactivity_limit",
           Type::duration,
           to<&ProfileConfig::oauth_inactivity_limit>(),
           "0",
           "How long the provider keeps an unused sign-in (the Microsoft and Google presets "
           "fill it; 0 = not known): the lapse warning and the metrics count down to it.",
           "",
           {},
           0,
           3650 * 86400},
    KeyDef{"proxy.url", Type::url, to<&ProfileConfig::proxy_url>(), "",
           "Proxy for identity provider and Graph calls (default: the global proxy.url).",
           "Proxy Server"},
    KeyDef{"transport", Type::choice, to<&ProfileConfig::transport>(), "smtp",
           "How mail leaves: smtp, graph (Microsoft Graph), or auto (SMTP, and Graph by itself "
           "when the server says SMTP AUTH is off for the mailbox or tenant).",
           "Transport", kTransports},
    KeyDef{"graph.endpoint", Type::url, to<&ProfileConfig::graph_endpoint>(),
           "https://graph.microsoft.com/v1.0",
           "Microsoft Graph's address (plain http only on loopback, for tests)."},
    KeyDef{"graph.scopes", Type::string, to<&ProfileConfig::graph_scopes>(), "",
           "Space-separated scopes of the Graph token (the Microsoft presets fill Mail.Send and "
           "Mail.ReadWrite); signing in asks for them too when transport is graph or auto."},
    KeyDef{"graph.save_to_sent_items", Type::boolean,
           to<&ProfileConfig::graph_save_to_sent_items>(), "true",
           "Keep a copy in Sent Items. Graph takes this only for JSON messages: MIME sends and "
           "large messages (sent as drafts) are always saved."},
    KeyDef{"graph.resource", Type::string, to<&ProfileConfig::graph_resource>(), "",
           "RFC 8707 resource indicator sent with the Graph token request (custom issuers)."},
    KeyDef{"delivery.concurrency",
           Type::integer,
           to<&ProfileConfig::delivery_concurrency>(),
           "3",
           "Connections at once for this profile (Exchange Online allows 3 per mailbox).",
           "",
           {},
           1,
           100},
    KeyDef{"delivery.rate_limit",
           Type::integer,
           to<&ProfileConfig::delivery_rate_limit>(),
           "0",
           "Messages per minute (0 = unlimited; Exchange Online allows 30).",
           "",
           {},
           0,
           100000},
    KeyDef{"delivery.max_age",
           Type::duration,
           to<&ProfileConfig::delivery_max_age>(),
           "5d",
           "Give up on a message (code 653) after this long.",
           "",
           {},
           60,
           30 * 86400},
    KeyDef{"hold_when_signed_out", Type::boolean, to<&ProfileConfig::hold_when_signed_out>(),
           "true", "Hold jobs while the profile is signed out, and send them after sign-in."},
    KeyDef{"sender_policy", Type::choice, to<&ProfileConfig::sender_policy>(), "rewrite",
           "rewrite: envelope sender and From become `sender` (the original From goes to "
           "Reply-To); keep: leave them.",
           "", kSenderPolicies},

    KeyDef{"web.listen", Type::host_port, to<&GlobalConfig::web_listen>(), "127.0.0.1:8443",
           "Where the web admin page listens."},
    KeyDef{"web.tls", Type::boolean, to<&GlobalConfig::web_tls>(), "true",
           "Serve the web admin page over HTTPS (false is allowed on loopback only)."},
    KeyDef{"web.cert", Type::string, to<&GlobalConfig::web_cert>(), "",
           "PEM certificate file for the web page (default: self-signed, made at first start)."},
    KeyDef{"web.key", Type::string, to<&GlobalConfig::web_key>(), "",
           "PEM private key file for web.cert."},
    KeyDef{"web.session_timeout",
           Type::duration,
           to<&GlobalConfig::web_session_timeout>(),
           "15m",
           "Log the administrator out after this long without activity.",
           "",
           {},
           60,
           86400},
    KeyDef{"web.hostnames", Type::string, to<&GlobalConfig::web_hostnames>(), "",
           "Comma-separated host names the web page may be opened by, besides its "
           "certificate's names (IP addresses and localhost always work)."},
    KeyDef{"history.max_jobs",
           Type::integer,
           to<&GlobalConfig::history_max_jobs>(),
           "1000",
           "Jobs kept in the history.",
           "",
           {},
           10,
           10'000'000},
    KeyDef{"history.max_age",
           Type::duration,
           to<&GlobalConfig::history_max_age>(),
           "30d",
           "How long finished jobs are kept.",
           "",
           {},
           3600,
           3650 * 86400},
    KeyDef{"proxy.url", Type::url, to<&GlobalConfig::proxy_url>(), "",
           "The default proxy for every profile.", "Proxy Server"},
    KeyDef{"relay.listen", Type::host_port, to<&GlobalConfig::relay_listen>(), "",
           "SMTP relay for legacy devices (ADDR:PORT)."},
    KeyDef{"relay.listen_tls", Type::host_port, to<&GlobalConfig::relay_listen_tls>(), "",
           "SMTP relay with implicit TLS (ADDR:PORT)."},
    KeyDef{"relay.profile", Type::string, to<&GlobalConfig::relay_profile>(), "email",
           "The profile that delivers relayed mail."},
    KeyDef{"relay.allowed_networks", Type::cidr_list, to<&GlobalConfig::relay_allowed_networks>(),
           "",
           "Networks whose clients may send without AUTH (default none: AUTH required; none "
           "wider than /8 for IPv4 or /16 for IPv6)."},
    KeyDef{"relay.require_tls", Type::boolean, to<&GlobalConfig::relay_require_tls>(), "true",
           "No AUTH before STARTTLS."},
    KeyDef{"relay.tls_min_version", Type::choice, to<&GlobalConfig::relay_tls_min_version>(), "1.2",
           "Oldest TLS version the relay accepts (1.0 for old devices).", "", kTlsVersions},
    KeyDef{"relay.max_message_size",
           Type::size,
           to<&GlobalConfig::relay_max_message_size>(),
           "35M",
           "Largest message the relay accepts.",
           "",
           {},
           1024,
           std::int64_t{1} << 32},
    KeyDef{"relay.max_recipients",
           Type::integer,
           to<&GlobalConfig::relay_max_recipients>(),
           "100",
           "Recipients per message.",
           "",
           {},
           1,
           10000},
    KeyDef{"relay.max_connections",
           Type::integer,
           to<&GlobalConfig::relay_max_connections>(),
           "100",
           "Relay connections at once.",
           "",
           {},
           1,
           100000},
    KeyDef{"relay.max_connections_per_client",
           Type::integer,
           to<&GlobalConfig::relay_max_connections_per_client>(),
           "10",
           "Relay connections at once from one address.",
           "",
           {},
           1,
           100000},
    KeyDef{"relay.sender_policy", Type::choice, to<&GlobalConfig::relay_sender_policy>(), "rewrite",
           "rewrite or keep the sender of relayed mail.", "", kSenderPolicies},
    KeyDef{"relay.bare_lf", Type::choice, to<&GlobalConfig::relay_bare_lf>(), "normalize",
           "What to do with a bare LF or CR in relayed data.", "", kBareLf},
    KeyDef{"relay.dsn", Type::boolean, to<&GlobalConfig::relay_dsn>(), "true",
           "Send a delivery status notification when relayed mail fails for good."},
    KeyDef{"aliases", Type::string, to<&GlobalConfig::aliases>(), "/etc/aliases",
           "The aliases file (aliases(5)) that maps sendmail's local names, such as root, to "
           "addresses; `newaliases` checks it."},
    KeyDef{"local.rate_limit",
           Type::integer,
           to<&GlobalConfig::local_rate_limit>(),
           "120",
           "Messages a local user (other than root and the service's) may hand to the service "
           "per minute, so that one runaway script cannot use up the mailbox's quota (0 = no "
           "limit).",
           "",
           {},
           0,
           1'000'000},
    KeyDef{"metrics.allowed_networks", Type::cidr_list,
           to<&GlobalConfig::metrics_allowed_networks>(), "127.0.0.0/8,::1",
           "Networks that may read /metrics without an API token."},
    KeyDef{"notify.email", Type::address, to<&GlobalConfig::notify_email>(), "",
           "Where alerts go (a sign-in about to lapse, jobs held, a queue too old); empty: no "
           "alert mail."},
    KeyDef{"notify.queue_age",
           Type::duration,
           to<&GlobalConfig::notify_queue_age>(),
           "1h",
           "Alert when the oldest queued job is older than this.",
           "",
           {},
           60,
           30 * 86400},
};

using KV = std::pair<std::string_view, std::string_view>;
constexpr std::string_view kMsScopes =
    "https://outlook.office.com/SMTP.Send offline_access openid email";
// Mail.ReadWrite: the upload sessions of messages over 3 MB need it.
constexpr std::string_view kGraphScopes =
    "https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite "
    "offline_access";
constexpr std::array kExchange = {
    KV{"smtp.host", "smtp.office365.com"}, KV{"smtp.port", "587"},
    KV{"smtp.security", "starttls"},       KV{"oauth.tenant", "organizations"},
    KV{"oauth.scopes", kMsScopes},         KV{"oauth.grant", "device"},
    KV{"delivery.rate_limit", "30"},       KV{"transport", "auto"},
    KV{"graph.scopes", kGraphScopes},      KV{"oauth.inactivity_limit", "90d"}};
constexpr std::array kOutlook = {KV{"smtp.host", "smtp-mail.outlook.com"},
                                 KV{"smtp.port", "587"},
                                 KV{"smtp.security", "starttls"},
                                 KV{"oauth.tenant", "consumers"},
                                 KV{"oauth.scopes", kMsScopes},
                                 KV{"oauth.grant", "device"},
                                 KV{"delivery.rate_limit", "30"},
                                 KV{"transport", "auto"},
                                 KV{"graph.scopes", kGraphScopes},
                                 KV{"oauth.inactivity_limit", "90d"}};
// Google's device flow refuses Gmail scopes (providers.md section 4).
constexpr std::array kGmail = {KV{"smtp.host", "smtp.gmail.com"},
                               KV{"smtp.port", "587"},
                               KV{"smtp.security", "starttls"},
                               KV{"oauth.tenant", ""},
                               KV{"oauth.scopes", "https://mail.google.com/"},
                               KV{"oauth.grant", "authorization-code"},
                               KV{"delivery.rate_limit", "0"},
                               KV{"transport", "smtp"},
                               KV{"graph.scopes", ""},
                               KV{"oauth.inactivity_limit", "183d"}};
constexpr std::array kCustom = {KV{"oauth.tenant", ""}, KV{"delivery.rate_limit", "0"},
                                KV{"transport", "smtp"}, KV{"graph.scopes", ""},
                                KV{"oauth.inactivity_limit", "0"}};
constexpr std::array kPresets = {Preset{"exchange-online", kExchange},
                                 Preset{"outlook-com", kOutlook}, Preset{"gmail", kGmail},
                                 Preset{"custom", kCustom}};

// Keys a user profile keeps for itself; every other key comes from `email`.
constexpr std::array kUserOwn = {"sender"sv, "account"sv, "password"sv};

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    if (h.front() == '[' && h.back() == ']') {  // IPv6 literal
        return h.size() > 2 && std::ranges::all_of(h.substr(1, h.size() - 2), [](char c) {
                   return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
               });
    }
    std::size_t label = 0;
    for (char c : h) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
        if (++label > 63) return false;
    }
    return label > 0 || h.back() == '.';
}

bool valid_address(std::string_view a) {
    const auto at = a.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= a.size() || at > 64) return false;
    if (std::ranges::any_of(a, [](char c) {
            return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == ',' ||
                   c == '"' || c == '(' || c == ')' || c == ';' || c == '\\';
        }))
        return false;
    return valid_hostname(a.substr(at + 1));
}

std::optional<std::string_view> url_host(std::string_view u) {
    std::string_view rest;
    if (u.starts_with("https://"))
        rest = u.substr(8);
    else if (u.starts_with("http://"))
        rest = u.substr(7);
    else
        return std::nullopt;
    rest = rest.substr(0, rest.find_first_of("/?#"));
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        return rest.substr(0, close + 1);
    }
    rest = rest.substr(0, rest.find(':'));
    if (rest.empty()) return std::nullopt;
    return rest;
}

bool valid_cidr(std::string_view c) {
    const auto slash = c.find('/');
    const std::string_view addr = c.substr(0, slash);
    std::int64_t maxbits = 32;
    if (addr.find(':') != std::string_view::npos) {
        maxbits = 128;
        if (!std::ranges::all_of(addr, [](char ch) {
                return std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':' || ch == '.';
            }))
            return false;
    } else {
        int parts = 0;
        std::size_t start = 0;
        for (std::size_t i = 0; i <= addr.size(); ++i) {
            if (i == addr.size() || addr[i] == '.') {
                auto v = parse_int(addr.substr(start, i - start));
                if (!v || *v < 0 || *v > 255) return false;
                ++parts;
                start = i + 1;
            }
        }
        if (parts != 4) return false;
    }
    if (slash == std::string_view::npos) return true;
    auto bits = parse_int(c.substr(slash + 1));
    return bits && *bits >= 0 && *bits <= maxbits;
}

std::string choices_text(std::span<const std::string_view> c) {
    std::string s;
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (i > 0) s += i + 1 == c.size() ? " or " : ", ";
        s += c[i];
    }
    return s;
}

}  // namespace

std::span<const KeyDef> schema() {
    return kSchema;
}

const KeyDef* find_def(std::string_view name, Scope scope) {
    for (const auto& d : kSchema)
        if (d.name == name && d.scope() == scope) return &d;
    return nullptr;
}

std::string_view type_name(Type t) {
    switch (t) {
        case Type::string:
            return "text";
        case Type::boolean:
            return "true or false";
        case Type::integer:
            return "a whole number";
        case Type::port:
            return "a port from 1 to 65535";
        case Type::duration:
            return "a duration such as 30s, 5m, 2h or 7d";
        case Type::size:
            return "a size such as 512K, 25M or 1G";
        case Type::choice:
            return "one of the listed values";
        case Type::address:
            return "an email address";
        case Type::host:
            return "a host name or IP address";
        case Type::url:
            return "an http:// or https:// URL";
        case Type::host_port:
            return "ADDRESS:PORT";
        case Type::cidr_list:
            return "comma-separated networks such as 192.168.1.0/24";
        case Type::secret:
            return "a secret";
    }
    return "?";
}

std::string Key::full() const {
    return profile.empty() ? std::string(def->name) : profile + "." + std::string(def->name);
}

bool valid_user_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::ranges::all_of(name, [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    });
}

bool valid_profile_name(std::string_view profile) {
    if (profile == "email" || profile == "fax") return true;
    return profile.starts_with("user:") && valid_user_name(profile.substr(5));
}

Result<Key> parse_key(std::string_view full) {
    const auto hint = " ('postbridge config show' lists every key)";
    // Profile keys: "email.x", "fax.x", "user:NAME.x". A user name may hold
    // dots, so the profile ends at the first dot after which a schema key
    // starts.
    std::string_view profile;
    std::string_view rest;
    if (full.starts_with("email.") || full.starts_with("fax.")) {
        const auto dot = full.find('.');
        profile = full.substr(0, dot);
        rest = full.substr(dot + 1);
    } else if (full.starts_with("user:")) {
        for (std::size_t dot = full.find('.'); dot != std::string_view::npos;
             dot = full.find('.', dot + 1)) {
            if (find_def(full.substr(dot + 1), Scope::profile) != nullptr) {
                profile = full.substr(0, dot);
                rest = full.substr(dot + 1);
                break;
            }
        }
        if (profile.empty())
            return fail(Errc::invalid_input, fmt::format("unknown key '{}'{}", full, hint));
        if (!valid_profile_name(profile))
            return fail(Errc::invalid_input,
                        fmt::format("'{}': a user name is lowercase letters, digits, '.', '_' "
                                    "and '-'",
                                    profile));
    }
    if (!profile.empty()) {
        const KeyDef* d = find_def(rest, Scope::profile);
        if (d == nullptr)
            return fail(Errc::invalid_input,
                        fmt::format("unknown key '{}': {} has no setting '{}'{}", full, profile,
                                    rest, hint));
        return Key{std::string(profile), d};
    }
    const KeyDef* d = find_def(full, Scope::global);
    if (d == nullptr) {
        if (find_def(full, Scope::profile) != nullptr)
            return fail(
                Errc::invalid_input,
                fmt::format("'{}' belongs to a profile: say which, e.g. email.{}", full, full));
        return fail(Errc::invalid_input, fmt::format("unknown key '{}'{}", full, hint));
    }
    return Key{"", d};
}

std::optional<std::chrono::seconds> parse_duration(std::string_view v) {
    if (v == "0") return std::chrono::seconds{0};
    if (v.size() < 2) return std::nullopt;
    auto n = parse_int(v.substr(0, v.size() - 1));
    if (!n || *n < 0) return std::nullopt;
    std::int64_t mult = 0;
    switch (v.back()) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            return std::nullopt;
    }
    if (*n > std::int64_t{1} << 40) return std::nullopt;
    return std::chrono::seconds{*n * mult};
}

std::optional<std::uint64_t> parse_size(std::string_view v) {
    if (v.empty()) return std::nullopt;
    std::uint64_t mult = 1;
    switch (v.back()) {
        case 'K':
        case 'k':
            mult = 1024;
            break;
        case 'M':
        case 'm':
            mult = 1024 * 1024;
            break;
        case 'G':
        case 'g':
            mult = 1024ULL * 1024 * 1024;
            break;
        default:
            break;
    }
    if (mult != 1) v.remove_suffix(1);
    auto n = parse_int(v);
    if (!n || *n < 0 || *n > (std::int64_t{1} << 40)) return std::nullopt;
    return static_cast<std::uint64_t>(*n) * mult;
}

std::optional<bool> parse_bool(std::string_view v) {
    const std::string l = lower(v);
    if (l == "true" || l == "yes" || l == "on" || l == "1" || l == "enable") return true;
    if (l == "false" || l == "no" || l == "off" || l == "0" || l == "disable") return false;
    return std::nullopt;
}

bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || host == "[::1]" || host == "::1") return true;
    return host.starts_with("127.") && valid_cidr(host);
}

Result<std::string> normalize(const Key& key, std::string_view raw) {
    const KeyDef& d = *key.def;
    const std::string name = key.full();
    if (raw.find_first_of("\r\n") != std::string_view::npos ||
        raw.find('\0') != std::string_view::npos)
        return fail(Errc::invalid_input, fmt::format("{}: line breaks are not allowed", name));
    if (d.type == Type::secret) return std::string(raw);
    const std::string v(trim(raw));
    auto bad = [&](std::string_view why) -> Error {
        return fail(Errc::invalid_input, fmt::format("{}: '{}' {}", name, v, why));
    };
    // An empty value unsets an optional key (its default applies again).
    if (v.empty()) {
        switch (d.type) {
            case Type::string:
            case Type::address:
            case Type::host:
            case Type::url:
            case Type::host_port:
            case Type::cidr_list:
                return std::string();
            default:
                return fail(Errc::invalid_input,
                            fmt::format("{}: a value is required ({})", name, type_name(d.type)));
        }
    }
    switch (d.type) {
        case Type::string:
            if (d.name == "relay.profile" && !valid_profile_name(v))
                return bad("is not a profile: use email, fax or user:NAME");
            return v;
        case Type::boolean: {
            auto b = parse_bool(v);
            if (!b) return bad("is not a yes/no value: use true or false");
            return std::string(*b ? "true" : "false");
        }
        case Type::integer: {
            auto n = parse_int(v);
            if (!n) return bad("is not a whole number");
            if (*n < d.min || *n > d.max)
                return bad(
                    fmt::format("is out of range: use a number from {} to {}", d.min, d.max));
            return std::to_string(*n);
        }
        case Type::port: {
            auto n = parse_int(v);
            if (!n || *n < 1 || *n > 65535)
                return bad("is not a port: use a number from 1 to 65535");
            return std::to_string(*n);
        }
        case Type::duration: {
            auto s = parse_duration(lower(v));
            if (!s) return bad("is not a duration: use a number with s, m, h or d (e.g. 5m, 7d)");
            if (d.max > 0 && (s->count() < d.min || s->count() > d.max) &&
                !(s->count() == 0 && d.min == 0))
                return bad(fmt::format("is out of range: use {}s to {}s", d.min, d.max));
            return lower(v);
        }
        case Type::size: {
            auto n = parse_size(v);
            if (!n) return bad("is not a size: use bytes or a number with K, M or G (e.g. 25M)");
            if (static_cast<std::int64_t>(*n) < d.min || static_cast<std::int64_t>(*n) > d.max)
                return bad(fmt::format("is out of range: use {} to {} bytes", d.min, d.max));
            std::string s = v;
            if (!s.empty() && std::isalpha(static_cast<unsigned char>(s.back())))
                s.back() = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
            return s;
        }
        case Type::choice: {
            const std::string l = lower(v);
            for (auto c : d.choices)
                if (c == l) return l;
            return bad(fmt::format("is not allowed: use {}", choices_text(d.choices)));
        }
        case Type::address:
            if (!valid_address(v)) return bad("is not an email address (like name@example.com)");
            return v;
        case Type::host:
            if (!valid_hostname(lower(v))) return bad("is not a host name or IP address");
            return lower(v);
        case Type::url: {
            auto host = url_host(v);
            if (!host || !valid_hostname(lower(*host)))
                return bad("is not a URL: use http://host[:port]/... or https://...");
            // Tokens and codes travel to these endpoints: only loopback may
            // go without TLS (design.md).
            if (d.name.starts_with("oauth.") && v.starts_with("http://") &&
                !is_loopback_host(lower(*host)))
                return bad("must use https:// (plain http is allowed only on loopback)");
            return v;
        }
        case Type::host_port: {
            const auto hp = parse_host_port(v);
            const bool v6 = hp && v.front() == '[';
            if (!hp || !valid_hostname(v6 ? "[" + hp->host + "]" : lower(hp->host)))
                return bad("is not ADDRESS:PORT (e.g. 127.0.0.1:8443 or [::1]:2525)");
            return v;
        }
        case Type::cidr_list: {
            std::string out;
            std::size_t start = 0;
            for (std::size_t i = 0; i <= v.size(); ++i) {
                if (i != v.size() && v[i] != ',') continue;
                const std::string item(trim(std::string_view(v).substr(start, i - start)));
                start = i + 1;
                if (item.empty()) continue;
                if (!valid_cidr(item))
                    return fail(Errc::invalid_input,
                                fmt::format("{}: '{}' is not a network: use e.g. 192.168.1.0/24",
                                            name, item));
                // Mail from these addresses needs no login: a short prefix
                // opens the relay to much of the Internet (relay/networks.hpp).
                if (const auto slash = item.find('/'); slash != std::string::npos) {
                    const bool v6 = item.find(':') != std::string::npos;
                    const std::int64_t shortest = v6 ? 16 : 8;
                    const auto bits = parse_int(std::string_view(item).substr(slash + 1));
                    if (bits && *bits < shortest)
                        return fail(Errc::invalid_input,
                                    fmt::format("{}: '{}' is too wide: any address in it could "
                                                "send through the relay without a login; the "
                                                "shortest prefix allowed is /{} for IPv{}",
                                                name, item, shortest, v6 ? 6 : 4));
                }
                if (!out.empty()) out += ",";
                out += item;
            }
            return out;
        }
        case Type::secret:
            break;
    }
    return std::string(raw);
}

const Preset* find_preset(std::string_view service) {
    for (const auto& p : kPresets)
        if (p.service == service) return &p;
    return nullptr;
}

std::string Settings::get(std::string_view profile, std::string_view name) const {
    if (profile.empty()) {
        if (auto it = values_.find(std::string(name)); it != values_.end()) return it->second;
        const KeyDef* d = find_def(name, Scope::global);
        return d ? std::string(d->default_value) : std::string();
    }
    const std::string full = std::string(profile) + "." + std::string(name);
    if (auto it = values_.find(full); it != values_.end()) return it->second;
    if (profile.starts_with("user:") && std::ranges::find(kUserOwn, name) == kUserOwn.end())
        return get("email", name);
    if (name == "proxy.url") return get_global("proxy.url");
    if (name != "service") {
        if (const Preset* p = find_preset(get(profile, "service"))) {
            for (const auto& [k, v] : p->values)
                if (k == name) return std::string(v);
        }
    }
    const KeyDef* d = find_def(name, Scope::profile);
    return d ? std::string(d->default_value) : std::string();
}

std::string_view Settings::origin(std::string_view profile, std::string_view name) const {
    const std::string full =
        profile.empty() ? std::string(name) : std::string(profile) + "." + std::string(name);
    if (values_.contains(full)) return "set";
    if (profile.starts_with("user:") && std::ranges::find(kUserOwn, name) == kUserOwn.end())
        return "inherited";
    return "default";
}

std::vector<std::string> Settings::warnings(std::string_view profile) const {
    std::vector<std::string> w;
    const std::string p(profile);
    const ProfileConfig c = profile_config(profile);
    const AuthMethod method = c.auth_method;
    if (c.sender.empty())
        w.push_back(fmt::format("{}: no Sender's Email Address: set {}.sender", p, p));
    if (c.smtp_host.empty())
        w.push_back(fmt::format("{}: no SMTP Server Address: set {}.smtp.host", p, p));
    if (method == AuthMethod::oauth2) {
        if (c.oauth_client_id.empty())
            w.push_back(fmt::format(
                "{}: OAuth2 needs the app registration's client id: set {}.oauth.client_id", p, p));
        if (c.service == Service::custom && c.oauth_issuer.empty())
            w.push_back(fmt::format(
                "{}: the custom service needs the OAuth server's issuer URL: set {}.oauth.issuer",
                p, p));
        if (c.service == Service::gmail && c.oauth_grant == Grant::device)
            w.push_back(
                fmt::format("{}: Google's device flow refuses Gmail scopes: set "
                            "{}.oauth.grant authorization-code",
                            p, p));
    }
    if (method == AuthMethod::pop_before_smtp && c.pop3_host.empty())
        w.push_back(fmt::format(
            "{}: POP before SMTP needs the POP3 Server Address: set {}.pop3.host", p, p));
    if ((method == AuthMethod::smtp_auth || method == AuthMethod::pop_before_smtp) &&
        c.account.empty())
        w.push_back(fmt::format("{}: {} needs the Authenticated Account: set {}.account", p,
                                to_string(method), p));
    if (method != AuthMethod::off && c.smtp_security == Security::none)
        w.push_back(c.smtp_allow_plaintext_auth
                        ? fmt::format("{}: Secure Connection is None: credentials travel "
                                      "unencrypted (smtp.allow_plaintext_auth is true)",
                                      p)
                        : fmt::format("{}: Secure Connection is None: postbridge will not sign "
                                      "in without TLS; every job fails with 615",
                                      p));
    if (!c.smtp_verify_cert)
        w.push_back(fmt::format(
            "{}: Certificate Validation is disabled. It is recommended to enable the Certificate "
            "Validation. It will be connected without confirming the safety of the email server "
            "when the Certificate Validation is disabled.",
            p));
    return w;
}

namespace {
template <class E, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, E v) {
    const auto i = static_cast<std::size_t>(v);
    return i < N ? names[i] : std::string_view();
}
}  // namespace

std::string_view to_string(AuthMethod v) noexcept {
    return name_of(kAuthMethods, v);
}
std::string_view to_string(Service v) noexcept {
    return name_of(kServices, v);
}
std::string_view to_string(Security v) noexcept {
    return name_of(kSecurity, v);
}
std::string_view to_string(Grant v) noexcept {
    return name_of(kGrants, v);
}
std::string_view to_string(Transport v) noexcept {
    return name_of(kTransports, v);
}
std::string_view to_string(SenderPolicy v) noexcept {
    return name_of(kSenderPolicies, v);
}
std::string_view to_string(BareLf v) noexcept {
    return name_of(kBareLf, v);
}

ProfileConfig Settings::profile_config(std::string_view profile) const {
    ProfileConfig c;
    for (const auto& d : kSchema)
        if (d.scope() == Scope::profile && d.target.fill != nullptr)
            d.target.fill(&c, d, get(profile, d.name));
    // POP3S: with ssl-tls and the port left at POP3's default, the port is
    // 995.
    if (c.pop3_security == Security::ssl_tls && origin(profile, "pop3.port") == "default")
        c.pop3_port = 995;
    return c;
}

GlobalConfig Settings::global_config() const {
    GlobalConfig c;
    for (const auto& d : kSchema)
        if (d.scope() == Scope::global && d.target.fill != nullptr)
            d.target.fill(&c, d, get_global(d.name));
    return c;
}

Config::Config(Settings s) : settings_(std::move(s)), global_(settings_.global_config()) {
    // email and fax, and every user profile with a value of its own.
    std::vector<std::string> names = {"email", "fax"};
    for (const auto& [full, value] : settings_.values()) {
        if (!full.starts_with("user:")) continue;
        if (auto key = parse_key(full);
            key && std::ranges::find(names, key->profile) == names.end())
            names.push_back(key->profile);
    }
    for (const auto& n : names) profiles_.emplace(n, settings_.profile_config(n));
    // Every other user profile reads the same: email's, with the user's own
    // keys unset.
    plain_user_ = settings_.profile_config("user:");
}

const ProfileConfig& Config::profile(std::string_view name) const {
    if (auto it = profiles_.find(name); it != profiles_.end()) return it->second;
    return plain_user_;
}

std::vector<std::string> profiles(std::span<const std::string> user_names) {
    std::vector<std::string> r = {"email", "fax"};
    for (const auto& u : user_names) r.push_back("user:" + u);
    return r;
}

}  // namespace pb::settings
