// The top-level parts of a message, found at every split point, and the
// plan that takes the large attachments out.
#include "graph/split.hpp"

#include <gtest/gtest.h>

#include "core/encoding.hpp"
#include "support/transcript.hpp"

namespace pb::graph {
namespace {

std::string b64_lines(std::string_view data) {
    const std::string b = base64_encode(data);
    std::string out;
    for (std::size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\r\n";
    return out;
}

std::string message(std::string_view attachment_b64_lines) {
    return "From: scan@example.com\r\nTo: bob@example.com\r\nSubject: scan\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed;\r\n boundary=\"=-b1\"\r\n\r\n"
           "This is a multi-part message in MIME format.\r\n"
           "--=-b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is the scan.\r\n"
           "--=-b1\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n"
           "Content-Disposition: attachment; filename*=utf-8''sc%C3%A4n.pdf\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n" +
           std::string(attachment_b64_lines) + "--=-b1--\r\n";
}

Structure scan(const pb::test::Chunks& chunks) {
    MimeScanner s;
    for (auto c : chunks) s.put(c);
    return s.finish();
}

TEST(GraphSplit, FindsTopLevelPartsAtEverySplit) {
    const std::string data = "%PDF-1.7 binary \x01\x02\xff";
    const std::string m = message(b64_lines(data));
    for (const auto& chunks : pb::test::every_split(m)) {
        const Structure s = scan(chunks);
        EXPECT_EQ(s.size, m.size());
        EXPECT_EQ(s.content_type, "multipart/mixed");
        EXPECT_EQ(s.boundary, "=-b1");
        ASSERT_EQ(s.parts.size(), 2u);
        const Part& text = s.parts[0];
        EXPECT_EQ(text.content_type, "text/plain");
        EXPECT_EQ(m.substr(text.body_begin, text.end - text.body_begin), "Here is the scan.");
        const Part& pdf = s.parts[1];
        EXPECT_EQ(pdf.content_type, "application/pdf");
        EXPECT_EQ(pdf.encoding, "base64");
        EXPECT_EQ(pdf.filename, "sc\xc3\xa4n.pdf");
        EXPECT_EQ(pdf.decoded_size, data.size());
        EXPECT_TRUE(pdf.valid_base64);
        EXPECT_EQ(m.substr(pdf.open, 8), "\r\n--=-b1");
        EXPECT_EQ(m.substr(pdf.end, 10), "\r\n--=-b1--");
    }
}

TEST(GraphSplit, NotMultipartOrNotClosedHasNoParts) {
    EXPECT_TRUE(scan({"Subject: x\r\n\r\nbody\r\n"}).parts.empty());
    const std::string m = message(b64_lines("x"));
    EXPECT_TRUE(scan({m.substr(0, m.size() - 10)}).parts.empty());  // no closing delimiter
}

TEST(GraphSplit, SmallMessagesNeedNoPlanButLargeOnesUploadTheirAttachment) {
    const std::string big(5'000'000, 'x');
    const std::string m = message(b64_lines(big));
    MimeScanner sc;
    sc.put(m);
    const Structure s = sc.finish();
    const auto plan = plan_split(s);
    ASSERT_TRUE(plan) << plan.error().describe();
    EXPECT_EQ(plan->uploads, std::vector<std::size_t>{1});
    std::string draft;
    for (const Piece& p : plan->draft) draft += m.substr(p.begin, p.end - p.begin);
    EXPECT_EQ(plan->draft_size, draft.size());
    EXPECT_EQ(
        draft,
        "From: scan@example.com\r\nTo: bob@example.com\r\nSubject: scan\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed;\r\n boundary=\"=-b1\"\r\n\r\n"
        "This is a multi-part message in MIME format.\r\n"
        "--=-b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere is the scan.\r\n"
        "--=-b1--\r\n");
    const AttachmentItem a = attachment_item(s.parts[1], 1);
    EXPECT_EQ(a.name, "sc\xc3\xa4n.pdf");
    EXPECT_EQ(a.size, big.size());
    EXPECT_EQ(a.content_type, "application/pdf");
    EXPECT_TRUE(a.content_id.empty());
}

TEST(GraphSplit, SignedOrSinglePartMessagesCannotBeSplit) {
    Structure s;
    s.size = 5'000'000;
    s.content_type = "multipart/signed";
    auto r = plan_split(s);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::graph_cannot_split);
    EXPECT_NE(r.error().detail.find("signed or encrypted"), std::string::npos);
    s.content_type = "text/plain";
    EXPECT_EQ(plan_split(s).error().code, Errc::graph_cannot_split);
    s.size = kMaxMessageBytes + 1;
    EXPECT_EQ(plan_split(s).error().code, Errc::message_too_large);
}

TEST(GraphSplit, AHugeTextPartCannotBeSplit) {
    std::string m =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n" +
        std::string(4'100'000, 'a') + "\r\n--b--\r\n";
    MimeScanner sc;
    sc.put(m);
    const auto r = plan_split(sc.finish());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::graph_cannot_split);
}

TEST(GraphSplit, Base64DecoderStreamsAcrossLineBreaksAndChunks) {
    const std::string data("\x00\x01\x02 any bytes \xff\xfe", 16);
    const std::string enc = b64_lines(data);
    for (const auto& chunks : pb::test::every_split(enc)) {
        Base64Decoder d;
        std::string out;
        for (auto c : chunks) ASSERT_TRUE(d.put(c, out));
        ASSERT_TRUE(d.finish(out));
        EXPECT_EQ(out, data);
    }
    Base64Decoder bad;
    std::string out;
    EXPECT_FALSE(bad.put("QQ==QQ==", out));
    Base64Decoder cut;
    EXPECT_TRUE(cut.put("QUJD", out));
    EXPECT_TRUE(cut.put("QQ", out));
    EXPECT_FALSE(cut.finish(out));
}

}  // namespace
}  // namespace pb::graph
