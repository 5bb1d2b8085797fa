// The Microsoft Graph mail requests postbridge makes, as data: their URLs,
// bodies and limits, and the reading of Graph's answers (a draft's id, an
// upload session). Pure: no I/O, so every shape is tested on fixed input;
// graph_client.hpp does the HTTP.
//
// Facts (providers.md section 3; Graph docs user-sendmail,
// user-post-messages, attachment-createuploadsession, outlook-large-attachments):
// - sendMail with MIME: Content-Type text/plain, the whole message base64;
//   202 Accepted. The recipients are taken from the To, Cc and Bcc headers.
// - One request carries at most 4 MB; larger messages go through a draft
//   (POST /messages, MIME too), createUploadSession per large attachment
//   (3 to 150 MB), PUTs of ordered ranges of at most 4 MB to the
//   pre-authenticated uploadUrl, then POST /messages/{id}/send (which always
//   saves to Sent Items).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pb::graph {

// "The maximum request length supported is 4MB": read as 4,000,000 bytes,
// the smaller of the two ways to read "MB", so a request is never refused.
inline constexpr std::uint64_t kMaxRequestBytes = 4'000'000;
// Each PUT to an upload session: "up to 4 MB each time".
inline constexpr std::uint64_t kMaxRangeBytes = 4'000'000;
// Graph's limit for a message with upload-session attachments.
inline constexpr std::uint64_t kMaxMessageBytes = 150ull * 1024 * 1024;

// Whether a message of `size` bytes goes to sendMail in one request: its
// base64 (no line breaks) must fit.
bool fits_one_request(std::uint64_t size) noexcept;

// The URLs, from the profile's graph.endpoint ("https://graph.microsoft.com/v1.0",
// no trailing slash needed) and the mailbox (the sender, or `account` for a
// shared mailbox). The mailbox is percent-encoded.
struct Urls {
    std::string endpoint;
    std::string mailbox;

    std::string send_mail() const;
    std::string messages() const;                       // POST: create a draft
    std::string message(std::string_view id) const;     // DELETE: a draft
    std::string send_draft(std::string_view id) const;  // POST
    std::string attachments(std::string_view id) const;
    std::string upload_session(std::string_view id) const;  // POST createUploadSession
};

// Checks graph.endpoint: https, or http on loopback only (tests); 643 otherwise.
Result<void> check_endpoint(std::string_view endpoint);

// {"attachmentItem":{"attachmentType":"file","name":..,"size":..,
// "contentType":..[,"isInline":true,"contentId":..]}}
struct AttachmentItem {
    std::string name;
    std::uint64_t size = 0;
    std::string content_type;  // "application/pdf"
    std::string content_id;    // without <>; set for inline parts
};
std::string upload_session_body(const AttachmentItem& item);

// The "id" of a created message (a draft). A malformed answer is 641
// (mail_service_unavailable, retried) naming what was missing.
Result<std::string> parse_message_id(std::string_view json);

// An upload session as createUploadSession answers it.
struct UploadSession {
    std::string upload_url;  // pre-authenticated: no Authorization header with it
    std::uint64_t next = 0;  // the first byte it expects
};
Result<UploadSession> parse_upload_session(std::string_view json);

// After a PUT answered 200: the first byte of "nextExpectedRanges"[0]
// ("1048576-" or "1048576-2097151").
Result<std::uint64_t> parse_next_expected(std::string_view json);

// One range of an upload: bytes [first, last] of `total`.
struct Range {
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    std::uint64_t size() const noexcept { return last - first + 1; }
};
// The range to PUT next when the session expects byte `next` (of `total` > next).
Range next_range(std::uint64_t next, std::uint64_t total,
                 std::uint64_t max = kMaxRangeBytes) noexcept;
// "bytes 0-3999999/9437307"
std::string content_range(const Range& r, std::uint64_t total);

// How long one request may take: a base for the round trip plus the body at
// a slow but working uplink (64 KB/s), so a 4 MB request on a poor line is
// not cut off while a dead connection is still noticed.
std::chrono::milliseconds request_timeout(std::uint64_t body_bytes) noexcept;

}  // namespace pb::graph
