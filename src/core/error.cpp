// The code table: what each job code says and what to do about it.
// 360, 361 and 370 carry the device manual's words exactly (Troubleshooting,
// "An error code shows in the job history").
#include "core/error.hpp"

#include "core/clock.hpp"

#include <algorithm>
#include <cerrno>
#include <string>

namespace pb {
namespace {

using enum Errc;
using C = Condition;

// In numeric order; code_table() relies on it for lookups.
constexpr std::array kCodes = {
    CodeInfo{not_signed_in, "not_signed_in",
             "No connection with the cloud service or email service.",
             "Connect to the cloud service or email service.", C::sign_in},
    CodeInfo{sign_in_expired, "sign_in_expired",
             "The connection with the cloud service or email service has expired.",
             "Connect to the cloud service or email service.", C::sign_in},
    CodeInfo{sign_in_again, "sign_in_again", "You need to sign in to the cloud service again.",
             "Sign in to the cloud service.", C::sign_in},

    CodeInfo{name_resolution, "name_resolution", "The server's name could not be resolved.",
             "Check the SMTP Server Address and the DNS server settings of the device.",
             C::transient},
    CodeInfo{cannot_connect, "cannot_connect", "Could not connect to the server.",
             "Check the SMTP Server Address and Port Number, the network cable and the "
             "firewall. postbridge retries by itself.",
             C::transient},
    CodeInfo{timed_out, "timed_out", "The server did not answer in time.",
             "Check the network. The job detail names the step that timed out. postbridge "
             "retries by itself.",
             C::transient},
    CodeInfo{proxy_failure, "proxy_failure", "The proxy server refused or failed the connection.",
             "Check the Proxy Server setting (proxy.url) and that the proxy allows the "
             "connection.",
             C::transient},

    CodeInfo{tls_handshake, "tls_handshake", "The secure connection (TLS) could not be set up.",
             "Check Secure Connection and the SMTP Server Port Number (587: STARTTLS, 465: "
             "SSL/TLS). postbridge retries by itself.",
             C::transient},
    CodeInfo{cert_untrusted, "cert_untrusted",
             "The server's certificate is not trusted or has expired.",
             "Import the issuing CA under Network Security > CA Certificate, or run Root "
             "Certificate Update. If the job detail says it is not valid yet or has expired, "
             "check this computer's date and time first.",
             C::configuration},
    CodeInfo{cert_name_mismatch, "cert_name_mismatch",
             "The server's certificate does not match the SMTP Server Address.",
             "Enter the server name exactly as it appears in its certificate.", C::configuration},
    CodeInfo{starttls_not_offered, "starttls_not_offered",
             "The server did not offer STARTTLS, so the connection was not secured.",
             "Check the SMTP Server Address and Port Number, or choose SSL/TLS. postbridge "
             "never sends credentials or mail in plaintext when STARTTLS is set.",
             C::configuration},
    CodeInfo{auth_without_tls, "auth_without_tls",
             "Not signing in to the server over a connection without TLS (Secure Connection is "
             "None): the password or token would travel in clear text.",
             "Set Secure Connection to STARTTLS or SSL/TLS (PROFILE.smtp.security). Only on a "
             "network where clear text is acceptable: set PROFILE.smtp.allow_plaintext_auth "
             "true.",
             C::configuration},

    CodeInfo{smtp_auth_disabled, "smtp_auth_disabled",
             "SMTP AUTH is disabled for the mailbox or the organization (5.7.139).",
             "Enable SMTP AUTH for the mailbox in the Microsoft 365 admin center (and for the "
             "organization in the Exchange admin center), or use the Graph transport.",
             C::configuration},
    CodeInfo{auth_rejected, "auth_rejected", "The email server rejected the authentication.",
             "Check the Authenticated Account, that the mailbox exists and may send, and the "
             "scopes of the app registration. Signing in again will not help by itself.",
             C::configuration},
    CodeInfo{no_common_mechanism, "no_common_mechanism",
             "The server offers no authentication method that postbridge can use.",
             "Check the Authentication Method and the SMTP Server Address.", C::configuration},

    CodeInfo{sender_not_allowed, "sender_not_allowed",
             "The server does not allow this account to send as the sender's address.",
             "Set the Sender's Email Address to the signed-in mailbox, or grant Send As on it.",
             C::permanent},
    CodeInfo{recipient_rejected, "recipient_rejected", "The server rejected the recipient.",
             "Check the recipient's address.", C::permanent},
    CodeInfo{message_too_large, "message_too_large",
             "The message is larger than the server accepts.",
             "Send fewer or smaller attachments (lower the scan resolution or split the job).",
             C::permanent},
    CodeInfo{rate_limited, "rate_limited",
             "The server limited the sending rate or the number of connections.",
             "Nothing: postbridge retries later. If it persists, lower delivery.rate_limit or "
             "delivery.concurrency.",
             C::transient},
    CodeInfo{smtputf8_not_offered, "smtputf8_not_offered",
             "An address has non-ASCII characters and the server does not support SMTPUTF8.",
             "Use an ASCII address for this server.", C::permanent},

    CodeInfo{mail_service_unavailable, "mail_service_unavailable",
             "The email service is temporarily unavailable.",
             "Nothing: postbridge retries by itself. If it goes on, the job detail says what "
             "the email server (SMTP Server Address) answered or where it closed the "
             "connection.",
             C::transient},
    CodeInfo{identity_provider_unavailable, "identity_provider_unavailable",
             "The sign-in service (identity provider) is unavailable.",
             "Nothing: postbridge retries by itself. If it goes on, check the network and the "
             "Proxy Server setting; the job detail says what the sign-in service answered or "
             "why it could not be reached.",
             C::transient},
    CodeInfo{identity_provider_config, "identity_provider_config",
             "The sign-in service rejected the app registration or tenant.",
             "Check oauth.client_id and oauth.tenant, and the app registration (for Microsoft: "
             "set Allow public client flows to Yes).",
             C::configuration},

    CodeInfo{spool_unwritable, "spool_unwritable",
             "The spool could not be written (disk full, not writable, or locked).",
             "Free disk space in the state directory, fix its permissions, or stop the process "
             "that holds its database locked (the detail says which), then send again.",
             C::local},
    CodeInfo{invalid_input, "invalid_input", "The message or a value in it is not valid.",
             "Correct the value named in the detail and send again.", C::local},
    CodeInfo{gave_up, "gave_up",
             "The message could not be delivered within the maximum time (delivery.max_age).",
             "Check the job's earlier errors, correct the cause and send again.", C::permanent},

    CodeInfo{graph_permission_missing, "graph_permission_missing",
             "Microsoft Graph refused the request: the app lacks the permission (Mail.Send, "
             "Mail.ReadWrite for large messages, Mail.Send.Shared for a shared mailbox).",
             "Grant the permission to the app registration and consent to it (an administrator "
             "for the organization, or for application permissions), then sign in again.",
             C::configuration},
    CodeInfo{graph_mailbox_not_found, "graph_mailbox_not_found",
             "Microsoft Graph found no mailbox for the sender (or it is not in Exchange Online).",
             "Check the Sender's Email Address (or Authenticated Account for a shared mailbox): "
             "it must be an Exchange Online mailbox with a license.",
             C::configuration},
    CodeInfo{graph_cannot_split, "graph_cannot_split",
             "The message is too large for one Microsoft Graph request and cannot be sent as a "
             "draft with attachments (a signed or encrypted message, or one large text part).",
             "Send it over SMTP (PROFILE.transport smtp) or make it smaller than 3 MB.",
             C::permanent},
    CodeInfo{graph_request_refused, "graph_request_refused", "Microsoft Graph refused the request.",
             "See the detail for Graph's error code; check the Graph settings "
             "(PROFILE.graph.endpoint) and the message.",
             C::permanent},
};

static_assert(std::ranges::is_sorted(kCodes, {}, [](const CodeInfo& i) { return i.code; }));

class PostbridgeCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "postbridge"; }
    std::string message(int ev) const override {
        auto e = errc_from_int(ev);
        return e ? std::string(info(*e).status) : "unknown postbridge error " + std::to_string(ev);
    }
    std::error_condition default_error_condition(int ev) const noexcept override {
        auto e = errc_from_int(ev);
        if (!e) return {ev, *this};
        return make_error_condition(info(*e).condition);
    }
};

class ConditionCategory final : public std::error_category {
  public:
    const char* name() const noexcept override { return "postbridge-condition"; }
    std::string message(int ev) const override {
        return std::string(to_string(static_cast<Condition>(ev)));
    }
};

}  // namespace

std::span<const CodeInfo> code_table() noexcept {
    return kCodes;
}

std::optional<Errc> errc_from_int(int number) noexcept {
    auto it = std::ranges::lower_bound(kCodes, number, {},
                                       [](const CodeInfo& i) { return static_cast<int>(i.code); });
    if (it == kCodes.end() || static_cast<int>(it->code) != number) return std::nullopt;
    return it->code;
}

const CodeInfo& info(Errc code) noexcept {
    auto it = std::ranges::lower_bound(kCodes, code, {}, [](const CodeInfo& i) { return i.code; });
    // Every enumerator is in the table (tests/core/error_test.cpp); an Errc made
    // from an unchecked integer is a programming error.
    if (it == kCodes.end() || it->code != code) std::terminate();
    return *it;
}

std::string_view to_string(Condition c) noexcept {
    switch (c) {
        case Condition::transient:
            return "transient";
        case Condition::permanent:
            return "permanent";
        case Condition::sign_in:
            return "sign-in";
        case Condition::configuration:
            return "configuration";
        case Condition::local:
            return "local";
    }
    return "unknown";
}

std::string_view condition_name(Errc code) noexcept {
    return to_string(info(code).condition);
}

const std::error_category& postbridge_category() noexcept {
    static const PostbridgeCategory c;
    return c;
}
const std::error_category& condition_category() noexcept {
    static const ConditionCategory c;
    return c;
}
std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), postbridge_category()};
}
std::error_condition make_error_condition(Condition c) noexcept {
    return {static_cast<int>(c), condition_category()};
}

Error certificate_dates(std::string_view whose, CertDates which) {
    std::string detail(whose);
    detail += which == CertDates::not_yet_valid ? " is not valid yet" : " has expired";
    detail += " by this computer's clock, which says " +
              format_rfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now())) +
              ": if that is not the time, set the date and time (NTP) and try again";
    return fail(Errc::cert_untrusted, std::move(detail));
}

bool Error::storage_full() const noexcept {
    return system_errno == ENOSPC || system_errno == EDQUOT;
}

std::string Error::describe() const {
    std::string s = "code " + std::to_string(number()) + ": " + std::string(info().status);
    if (!detail.empty()) s += " (" + detail + ")";
    return s;
}

}  // namespace pb
