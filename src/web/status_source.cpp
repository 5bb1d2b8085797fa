// The status sheet's and the status answer's data (status_source.hpp).
#include "web/status_source.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <array>

#include <fmt/format.h>

#include "oauth/token.hpp"
#include "web/email_server_html.hpp"

namespace pb::web {
namespace {

std::string title_of(std::string_view profile) {
    if (profile == "email") return "Email Server (Network > Email Server > Basic)";
    if (profile == "fax") return "Fax Server (Fax > Fax Server > Email Server Settings)";
    return fmt::format("Scan to My Email: {}", profile.substr(5));
}

// This machine's addresses, as the manual's sheet lists the device's.
std::string addresses() {
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {};
    std::string out;
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr) continue;
        std::array<char, INET6_ADDRSTRLEN> buf{};
        const void* a = nullptr;
        if (i->ifa_addr->sa_family == AF_INET)
            a = &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr;
        else if (i->ifa_addr->sa_family == AF_INET6)
            a = &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr;
        if (a == nullptr || ::inet_ntop(i->ifa_addr->sa_family, a, buf.data(),
                                        static_cast<socklen_t>(buf.size())) == nullptr)
            continue;
        if (!out.empty()) out += ", ";
        out += fmt::format("{} ({})", buf.data(), i->ifa_name);
    }
    ::freeifaddrs(list);
    return out;
}

std::string host_name() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return {};
    return buf.data();
}

}  // namespace

Result<std::vector<std::string>> shown_profiles(store::Store& store,
                                                const settings::Settings& settings) {
    auto users = store.users();
    if (!users) return std::move(users).error();
    std::vector<std::string> names{"email"};
    bool fax = store.has_secret("fax.password");
    for (const auto& [k, v] : settings.values()) fax = fax || k.starts_with("fax.");
    if (fax) names.emplace_back("fax");
    for (const auto& u : *users) names.push_back("user:" + u.name);
    return names;
}

Result<StatusSheet> collect_status_sheet(store::Store& store, const settings::Config& config,
                                         const StatusLookup& status, TimePoint now) {
    using settings::AuthMethod;
    using settings::to_string;
    StatusSheet sheet;
    sheet.generated_at = format_rfc3339(now);
    const auto& g = config.global();
    sheet.network = {
        {"Device Name", host_name()},
        {"IP Address", addresses()},
        {"Web Config", fmt::format("{}://{}/", g.web_tls ? "https" : "http", g.web_listen)},
        {"Relay", g.relay_listen.empty() ? "Off" : g.relay_listen},
        {"Proxy Server", g.proxy_url},
    };
    auto names = shown_profiles(store, config.settings());
    if (!names) return std::move(names).error();
    for (const auto& p : *names) {
        StatusSheet::Profile section{p, title_of(p), {}, config.settings().warnings(p)};
        auto& rows = section.rows;
        const auto& c = config.profile(p);
        const AuthMethod method = c.auth_method;
        rows.emplace_back("Authentication Method", choice_label("auth_method", to_string(method)));
        if (method == AuthMethod::oauth2) {
            rows.emplace_back("Email service", choice_label("service", to_string(c.service)));
            auto st = status(p);
            if (!st) {
                rows.emplace_back("Current Status", st.error().detail);
            } else {
                rows.emplace_back("Current Status",
                                  service::current_status_label(st->state, c.oauth_grant));
                rows.emplace_back("Signed-in Account", st->account);
                if (!st->reason.empty()) rows.emplace_back("Reason", st->reason);
                rows.emplace_back("Access token expires",
                                  service::rfc3339_or_empty(st->access_expires_at));
                rows.emplace_back("Last refresh", service::rfc3339_or_empty(st->last_refresh));
                rows.emplace_back("Next keep-alive",
                                  service::rfc3339_or_empty(st->keepalive.next_due));
                if (st->keepalive.warning) section.warnings.push_back(*st->keepalive.warning);
            }
        }
        if (method != AuthMethod::off) rows.emplace_back("Authenticated Account", c.account);
        rows.emplace_back("Sender's Email Address", c.sender);
        rows.emplace_back("SMTP Server Address", c.smtp_host);
        rows.emplace_back("SMTP Server Port Number", std::to_string(c.smtp_port));
        rows.emplace_back("Secure Connection",
                          choice_label("smtp.security", to_string(c.smtp_security)));
        rows.emplace_back("Certificate Validation", c.smtp_verify_cert ? "Enable" : "Disable");
        if (method == AuthMethod::pop_before_smtp) {
            rows.emplace_back("POP3 Server Address", c.pop3_host);
            rows.emplace_back("POP3 Server Port Number", std::to_string(c.pop3_port));
        }
        sheet.profiles.push_back(std::move(section));
    }
    auto certs = store.ca_certs();
    if (!certs) return std::move(certs).error();
    for (const auto& c : *certs)
        sheet.certificates.emplace_back(c.subject, fmt::format("valid to {}", c.not_after));
    return sheet;
}

Result<nlohmann::json> status_json(const settings::Config& cfg,
                                   const std::vector<std::string>& names,
                                   const StatusLookup& status) {
    nlohmann::json profiles = nlohmann::json::array();
    for (const auto& p : names) {
        auto st = status(p);
        if (!st) return std::move(st).error();
        profiles.push_back(service::status_json(cfg, p, *st, st->state));
    }
    return nlohmann::json{{"profiles", profiles}};
}

}  // namespace pb::web
