// Graph's failures as job codes (errors.hpp).
#include "graph/errors.hpp"

#include <array>
#include <charconv>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.hpp"

namespace pb::graph {
namespace {

struct GraphError {
    std::string code;
    std::string message;
};

GraphError parse_error(std::string_view body) {
    GraphError e;
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("error") || !j["error"].is_object())
        return e;
    const auto& err = j["error"];
    if (err.contains("code") && err["code"].is_string()) e.code = err["code"].get<std::string>();
    if (err.contains("message") && err["message"].is_string())
        e.message = err["message"].get<std::string>();
    return e;
}

// Graph's message, made safe to show: printable, one line, bounded.
std::string shown(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, 300)) out.push_back(c >= 0x20 && c != 0x7f ? c : ' ');
    return out;
}

bool any_of(std::string_view code, std::initializer_list<std::string_view> names) {
    for (auto n : names)
        if (iequals(code, n)) return true;
    return false;
}

std::optional<int> month_of(std::string_view m) {
    static constexpr std::array kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (std::size_t i = 0; i < kMonths.size(); ++i)
        if (m == kMonths[i]) return static_cast<int>(i);
    return std::nullopt;
}

template <class T>
bool number(std::string_view s, T& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && p == s.data() + s.size();
}

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate, the form RFC 9110 requires senders to use).
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view v) {
    if (v.size() != 29 || v.substr(3, 2) != ", " || v.substr(25) != " GMT") return std::nullopt;
    int day = 0, year = 0, h = 0, m = 0, s = 0;
    const auto month = month_of(v.substr(8, 3));
    if (!month || !number(v.substr(5, 2), day) || !number(v.substr(12, 4), year) ||
        !number(v.substr(17, 2), h) || !number(v.substr(20, 2), m) || !number(v.substr(23, 2), s) ||
        v[19] != ':' || v[22] != ':')
        return std::nullopt;
    using namespace std::chrono;
    const year_month_day ymd{std::chrono::year{year}, std::chrono::month{unsigned(*month + 1)},
                             std::chrono::day{unsigned(day)}};
    if (!ymd.ok() || h > 23 || m > 59 || s > 60) return std::nullopt;
    return sys_days{ymd} + hours{h} + minutes{m} + seconds{s};
}

}  // namespace

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, TimePoint now,
                                                      std::chrono::seconds max) {
    value = trim(value);
    if (value.empty()) return std::nullopt;
    std::int64_t secs = 0;
    if (number(value, secs)) {
        if (secs < 0) return std::nullopt;
        return std::min(std::chrono::seconds{secs}, max);
    }
    auto at = parse_http_date(value);
    if (!at) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(*at - now);
    return std::clamp(left, std::chrono::seconds{0}, max);
}

Failure classify(long status, std::string_view body, std::string_view retry_after_header,
                 TimePoint now, std::string_view what) {
    const GraphError g = parse_error(body);
    const std::string detail = fmt::format("Microsoft Graph answered {} {}{}{} while {}", status,
                                           g.code.empty() ? "" : shown(g.code),
                                           g.message.empty() ? "" : ": ", shown(g.message), what);
    Failure f{Error{Errc::graph_request_refused, detail}, std::nullopt, false};
    if (status == 429 || status == 503) f.retry_after = parse_retry_after(retry_after_header, now);

    if (status == 401) {
        f.error.code = Errc::auth_rejected;
        f.token_refused = true;
    } else if (status == 429 ||
               any_of(g.code, {"ApplicationThrottled", "TooManyRequests", "MailboxConcurrency",
                               "ErrorSubmissionQuotaExceeded"})) {
        f.error.code = Errc::rate_limited;
    } else if (any_of(g.code, {"ErrorSendAsDenied", "SendAsDenied"})) {
        f.error.code = Errc::sender_not_allowed;
    } else if (status == 413 || any_of(g.code, {"ErrorMessageSizeExceeded", "RequestEntityTooLarge",
                                                "ErrorAttachmentSizeLimitExceeded"})) {
        f.error.code = Errc::message_too_large;
    } else if (any_of(g.code, {"ErrorInvalidRecipients", "ErrorInvalidRecipientsOrSender"})) {
        f.error.code = Errc::recipient_rejected;
    } else if (any_of(g.code,
                      {"ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ErrorNonExistentMailbox",
                       "ResourceNotFound", "MailboxNotHostedInExchangeOnline"})) {
        f.error.code = Errc::graph_mailbox_not_found;
    } else if (status == 403 || any_of(g.code, {"ErrorAccessDenied", "AccessDenied",
                                                "Authorization_RequestDenied"})) {
        f.error.code = Errc::graph_permission_missing;
    } else if (status >= 500 || status == 408 || any_of(g.code, {"ErrorItemNotFound"})) {
        // ErrorItemNotFound: our draft vanished under us; the job starts over.
        f.error.code = Errc::mail_service_unavailable;
    }
    return f;
}

}  // namespace pb::graph
