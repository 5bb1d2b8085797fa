// Graph mail requests as data (requests.hpp).
#include "graph/requests.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "oauth/url.hpp"

namespace pb::graph {
namespace {

std::string join(std::string_view endpoint, std::string_view rest) {
    while (endpoint.ends_with('/')) endpoint.remove_suffix(1);
    return fmt::format("{}{}", endpoint, rest);
}

Error malformed(std::string_view what) {
    return Error{Errc::mail_service_unavailable,
                 fmt::format("Microsoft Graph answered without {}", what)};
}

std::optional<nlohmann::json> parse_json(std::string_view text) {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    return j;
}

// The first byte of a range "N-" or "N-M".
std::optional<std::uint64_t> range_start(std::string_view r) {
    std::uint64_t n = 0;
    const auto* end = r.data() + r.size();
    auto [p, ec] = std::from_chars(r.data(), end, n);
    if (ec != std::errc{} || p == r.data() || p == end || *p != '-') return std::nullopt;
    return n;
}

}  // namespace

bool fits_one_request(std::uint64_t size) noexcept {
    return size <= kMaxRequestBytes / 4 * 3 && base64_encoded_size(size) <= kMaxRequestBytes;
}

std::string Urls::send_mail() const {
    return join(endpoint, fmt::format("/users/{}/sendMail", oauth::form_encode(mailbox)));
}
std::string Urls::messages() const {
    return join(endpoint, fmt::format("/users/{}/messages", oauth::form_encode(mailbox)));
}
std::string Urls::message(std::string_view id) const {
    return fmt::format("{}/{}", messages(), oauth::form_encode(id));
}
std::string Urls::send_draft(std::string_view id) const {
    return message(id) + "/send";
}
std::string Urls::attachments(std::string_view id) const {
    return message(id) + "/attachments";
}
std::string Urls::upload_session(std::string_view id) const {
    return attachments(id) + "/createUploadSession";
}

Result<void> check_endpoint(std::string_view endpoint) {
    auto r = oauth::require_secure_endpoint(endpoint, "graph.endpoint");
    if (!r) return r.error();
    return {};
}

std::string upload_session_body(const AttachmentItem& item) {
    nlohmann::json a = {{"attachmentType", "file"},
                        {"name", item.name},
                        {"size", item.size},
                        {"contentType", item.content_type}};
    if (!item.content_id.empty()) {
        a["isInline"] = true;
        a["contentId"] = item.content_id;
    }
    return nlohmann::json{{"attachmentItem", a}}.dump(-1, ' ', false,
                                                      nlohmann::json::error_handler_t::replace);
}

Result<std::string> parse_message_id(std::string_view json) {
    auto j = parse_json(json);
    if (!j || !j->contains("id") || !(*j)["id"].is_string() ||
        (*j)["id"].get_ref<const std::string&>().empty())
        return malformed("the id of the draft");
    return (*j)["id"].get<std::string>();
}

Result<UploadSession> parse_upload_session(std::string_view json) {
    auto j = parse_json(json);
    if (!j || !j->contains("uploadUrl") || !(*j)["uploadUrl"].is_string())
        return malformed("an uploadUrl");
    UploadSession s{(*j)["uploadUrl"].get<std::string>(), 0};
    // The upload URL receives the attachment's bytes: HTTPS, or loopback (tests).
    if (auto ok = oauth::require_secure_endpoint(s.upload_url, "Graph upload URL"); !ok)
        return ok.error();
    if (j->contains("nextExpectedRanges")) {
        auto n = parse_next_expected(json);
        if (!n) return n.error();
        s.next = *n;
    }
    return s;
}

Result<std::uint64_t> parse_next_expected(std::string_view json) {
    auto j = parse_json(json);
    if (!j || !j->contains("nextExpectedRanges")) return malformed("nextExpectedRanges");
    const auto& r = (*j)["nextExpectedRanges"];
    if (!r.is_array() || r.empty() || !r[0].is_string()) return malformed("nextExpectedRanges");
    auto n = range_start(r[0].get_ref<const std::string&>());
    if (!n) return malformed("a readable nextExpectedRanges");
    return *n;
}

Range next_range(std::uint64_t next, std::uint64_t total, std::uint64_t max) noexcept {
    const std::uint64_t n = std::min(max, total - next);
    return Range{next, next + n - 1};
}

std::string content_range(const Range& r, std::uint64_t total) {
    return fmt::format("bytes {}-{}/{}", r.first, r.last, total);
}

std::chrono::milliseconds request_timeout(std::uint64_t body_bytes) noexcept {
    constexpr std::uint64_t kBaseMs = 30'000;
    constexpr std::uint64_t kBytesPerSecond = 64 * 1024;
    return std::chrono::milliseconds(kBaseMs + body_bytes * 1000 / kBytesPerSecond);
}

}  // namespace pb::graph
