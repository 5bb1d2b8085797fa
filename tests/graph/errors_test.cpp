// Graph's failures as our codes, and Retry-After.
#include "graph/errors.hpp"

#include <gtest/gtest.h>

namespace pb::graph {
namespace {

using namespace std::chrono_literals;

const TimePoint kNow =
    TimePoint{std::chrono::sys_days{std::chrono::year{2026} / 12 / 7}.time_since_epoch()};

std::string body(std::string_view code) {
    return std::string(R"({"error":{"code":")") + std::string(code) + R"(","message":"m"}})";
}

Errc code_of(long status, std::string_view code) {
    return classify(status, body(code), "", kNow, "sendMail").error.code;
}

TEST(GraphErrors, CodesMapOntoOurs) {
    EXPECT_EQ(code_of(401, "InvalidAuthenticationToken"), Errc::auth_rejected);
    EXPECT_EQ(code_of(403, "ErrorAccessDenied"), Errc::graph_permission_missing);
    EXPECT_EQ(code_of(403, "ErrorSendAsDenied"), Errc::sender_not_allowed);
    EXPECT_EQ(code_of(404, "ErrorInvalidUser"), Errc::graph_mailbox_not_found);
    EXPECT_EQ(code_of(404, "MailboxNotEnabledForRESTAPI"), Errc::graph_mailbox_not_found);
    EXPECT_EQ(code_of(413, "RequestEntityTooLarge"), Errc::message_too_large);
    EXPECT_EQ(code_of(400, "ErrorMessageSizeExceeded"), Errc::message_too_large);
    EXPECT_EQ(code_of(400, "ErrorInvalidRecipients"), Errc::recipient_rejected);
    EXPECT_EQ(code_of(429, "ApplicationThrottled"), Errc::rate_limited);
    EXPECT_EQ(code_of(503, "ServiceUnavailable"), Errc::mail_service_unavailable);
    EXPECT_EQ(code_of(500, ""), Errc::mail_service_unavailable);
    EXPECT_EQ(code_of(404, "ErrorItemNotFound"), Errc::mail_service_unavailable);
    EXPECT_EQ(code_of(400, "ErrorMimeContentInvalidBase64String"), Errc::graph_request_refused);
}

TEST(GraphErrors, TokenRefusedOnlyOn401) {
    EXPECT_TRUE(classify(401, "", "", kNow, "x").token_refused);
    EXPECT_FALSE(classify(403, body("ErrorAccessDenied"), "", kNow, "x").token_refused);
}

TEST(GraphErrors, DetailNamesGraphsCodeAndTheStepAndIsOneLine) {
    const auto f = classify(
        403, R"({"error":{"code":"ErrorAccessDenied","message":"Access is denied.\r\nCheck"}})", "",
        kNow, "creating the draft");
    EXPECT_EQ(f.error.detail,
              "Microsoft Graph answered 403 ErrorAccessDenied: Access is denied.  Check while "
              "creating the draft");
    EXPECT_EQ(classify(502, "<html>", "", kNow, "sendMail").error.detail,
              "Microsoft Graph answered 502  while sendMail");
}

TEST(GraphErrors, RetryAfterOn429And503) {
    EXPECT_EQ(classify(429, body("ApplicationThrottled"), "7", kNow, "x").retry_after, 7s);
    EXPECT_EQ(classify(503, "", "2", kNow, "x").retry_after, 2s);
    EXPECT_EQ(classify(500, "", "2", kNow, "x").retry_after, std::nullopt);
    EXPECT_EQ(classify(429, "", "", kNow, "x").retry_after, std::nullopt);
}

TEST(GraphErrors, RetryAfterForms) {
    EXPECT_EQ(parse_retry_after("0", kNow), 0s);
    EXPECT_EQ(parse_retry_after(" 120 ", kNow), 120s);
    EXPECT_EQ(parse_retry_after("86400", kNow), kMaxRetryAfter);  // bounded
    EXPECT_EQ(parse_retry_after("Mon, 07 Dec 2026 00:00:42 GMT", kNow), 42s);
    EXPECT_EQ(parse_retry_after("Sun, 06 Dec 2026 23:00:00 GMT", kNow), 0s);  // past
    for (auto bad : {"", "-1", "soon", "1.5", "Mon, 07 Dec 2026 00:00:42 UTC",
                     "Mon, 32 Dec 2026 00:00:42 GMT"})
        EXPECT_EQ(parse_retry_after(bad, kNow), std::nullopt) << bad;
}

}  // namespace
}  // namespace pb::graph
