// Graph request shapes and the reading of Graph's answers.
#include "graph/requests.hpp"

#include <gtest/gtest.h>

namespace pb::graph {
namespace {

TEST(GraphRequests, OneRequestHoldsBase64OfAtMostThreeMillionBytes) {
    EXPECT_TRUE(fits_one_request(0));
    EXPECT_TRUE(fits_one_request(3'000'000));  // base64: exactly 4,000,000
    EXPECT_FALSE(fits_one_request(3'000'001));
    EXPECT_FALSE(fits_one_request(20ull << 20));
}

TEST(GraphRequests, UrlsEncodeTheMailboxAndTheDraftId) {
    const Urls u{"https://graph.microsoft.com/v1.0/", "scan+fax@example.com"};
    EXPECT_EQ(u.send_mail(),
              "https://graph.microsoft.com/v1.0/users/scan%2Bfax%40example.com/sendMail");
    EXPECT_EQ(u.messages(),
              "https://graph.microsoft.com/v1.0/users/scan%2Bfax%40example.com/messages");
    EXPECT_EQ(
        u.send_draft("AAM/k="),
        "https://graph.microsoft.com/v1.0/users/scan%2Bfax%40example.com/messages/AAM%2Fk%3D/send");
    EXPECT_EQ(u.upload_session("id1"),
              "https://graph.microsoft.com/v1.0/users/scan%2Bfax%40example.com/messages/id1/"
              "attachments/createUploadSession");
}

TEST(GraphRequests, EndpointIsHttpsOrLoopbackHttp) {
    EXPECT_TRUE(check_endpoint("https://graph.microsoft.com/v1.0"));
    EXPECT_TRUE(check_endpoint("http://127.0.0.1:8080/v1.0"));
    const auto r = check_endpoint("http://graph.example.com/v1.0");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::identity_provider_config);
}

TEST(GraphRequests, UploadSessionBody) {
    EXPECT_EQ(
        upload_session_body({"scan.pdf", 9437307, "application/pdf", ""}),
        R"({"attachmentItem":{"attachmentType":"file","contentType":"application/pdf","name":"scan.pdf","size":9437307}})");
    EXPECT_EQ(
        upload_session_body({"logo.png", 5, "image/png", "logo@x"}),
        R"({"attachmentItem":{"attachmentType":"file","contentId":"logo@x","contentType":"image/png","isInline":true,"name":"logo.png","size":5}})");
}

TEST(GraphRequests, MessageId) {
    EXPECT_EQ(*parse_message_id(R"({"id":"AAMkAD","isDraft":true})"), "AAMkAD");
    for (auto bad : {"", "[]", "{}", R"({"id":""})", R"({"id":5})", "{\"id\":"}) {
        const auto r = parse_message_id(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, Errc::mail_service_unavailable);
    }
}

TEST(GraphRequests, UploadSessionAnswer) {
    const auto s = parse_upload_session(
        R"({"uploadUrl":"https://outlook.office.com/api/v2.0/Users('a')/Messages('b')/AttachmentSessions('c')?authtoken=x","expirationDateTime":"2026-12-07T06:00:00Z","nextExpectedRanges":["0-"]})");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->next, 0u);
    EXPECT_TRUE(s->upload_url.starts_with("https://outlook.office.com/"));
    // An upload URL that would carry the attachment in clear text off loopback.
    EXPECT_FALSE(parse_upload_session(R"({"uploadUrl":"http://evil.example/u"})"));
    EXPECT_FALSE(parse_upload_session(R"({"nextExpectedRanges":["0-"]})"));
}

TEST(GraphRequests, NextExpectedRanges) {
    EXPECT_EQ(*parse_next_expected(R"({"nextExpectedRanges":["4000000-"]})"), 4'000'000u);
    EXPECT_EQ(*parse_next_expected(R"({"nextExpectedRanges":["12-99","200-"]})"), 12u);
    for (auto bad : {R"({"nextExpectedRanges":[]})", R"({"nextExpectedRanges":["x-"]})",
                     R"({"nextExpectedRanges":["12"]})", R"({})"})
        EXPECT_FALSE(parse_next_expected(bad)) << bad;
}

TEST(GraphRequests, RangesAreOrderedAndAtMostFourMegabytes) {
    const std::uint64_t total = 9'437'307;
    std::uint64_t next = 0;
    std::vector<std::string> seen;
    while (next < total) {
        const Range r = next_range(next, total);
        EXPECT_LE(r.size(), kMaxRangeBytes);
        seen.push_back(content_range(r, total));
        next = r.last + 1;
    }
    EXPECT_EQ(seen,
              (std::vector<std::string>{"bytes 0-3999999/9437307", "bytes 4000000-7999999/9437307",
                                        "bytes 8000000-9437306/9437307"}));
    EXPECT_EQ(content_range(next_range(0, 1), 1), "bytes 0-0/1");
}

TEST(GraphRequests, TimeoutScalesWithTheBody) {
    EXPECT_EQ(request_timeout(0), std::chrono::milliseconds(30'000));
    EXPECT_GT(request_timeout(4'000'000), std::chrono::milliseconds(90'000));
    EXPECT_LT(request_timeout(4'000'000), std::chrono::milliseconds(120'000));
}

}  // namespace
}  // namespace pb::graph
