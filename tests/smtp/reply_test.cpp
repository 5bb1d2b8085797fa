// The reply parser: whole, split and invalid inputs.
#include "smtp/reply.hpp"

#include <gtest/gtest.h>

#include "support/transcript.hpp"

namespace pb::smtp {
namespace {

// Feeds chunks; returns the replies read and whether the parser failed.
struct Parsed {
    std::vector<Reply> replies;
    bool invalid = false;
};
Parsed parse_chunks(const pb::test::Chunks& chunks) {
    Parsed p;
    ReplyParser parser;
    for (auto c : chunks) {
        while (!c.empty()) {
            const auto r = parser.put(c);
            c.remove_prefix(r.consumed);
            if (r.status == ReplyParser::Status::invalid) {
                p.invalid = true;
                return p;
            }
            if (r.status == ReplyParser::Status::ready) p.replies.push_back(parser.take());
        }
    }
    return p;
}

TEST(ReplyParser, SingleLineWithEnhancedStatus) {
    for (const auto& chunks : pb::test::every_split(
             "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled\r\n")) {
        auto p = parse_chunks(chunks);
        ASSERT_EQ(p.replies.size(), 1u);
        EXPECT_EQ(p.replies[0].code, 535);
        EXPECT_EQ(p.replies[0].status.str(), "5.7.139");
        EXPECT_EQ(p.replies[0].lines.at(0),
                  "Authentication unsuccessful, SmtpClientAuthentication is disabled");
    }
}

TEST(ReplyParser, MultilineKeepsEveryLine) {
    const std::string ehlo =
        "250-smtp.office365.com Hello\r\n250-SIZE 157286400\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n";
    for (const auto& chunks : pb::test::every_split(ehlo)) {
        auto p = parse_chunks(chunks);
        ASSERT_EQ(p.replies.size(), 1u);
        EXPECT_EQ(p.replies[0].code, 250);
        EXPECT_FALSE(p.replies[0].status.present());
        ASSERT_EQ(p.replies[0].lines.size(), 4u);
        EXPECT_EQ(p.replies[0].lines[1], "SIZE 157286400");
    }
}

TEST(ReplyParser, TwoRepliesInOneBuffer) {
    auto p = parse_chunks({"250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n"});
    ASSERT_EQ(p.replies.size(), 2u);
    EXPECT_EQ(p.replies[1].status.str(), "2.1.5");
}

TEST(ReplyParser, NeedMoreIsNotInvalid) {
    ReplyParser parser;
    const auto r = parser.put("250-first\r\n250 sec");
    EXPECT_EQ(r.status, ReplyParser::Status::need_more);
    EXPECT_EQ(r.consumed, 18u);
    EXPECT_TRUE(parser.mid_reply());
}

TEST(ReplyParser, CodeOnlyLine) {
    auto p = parse_chunks({"250\r\n"});
    ASSERT_EQ(p.replies.size(), 1u);
    EXPECT_EQ(p.replies[0].code, 250);
}

TEST(ReplyParser, BareLfTolerated) {
    auto p = parse_chunks({"220 ready\n"});
    ASSERT_EQ(p.replies.size(), 1u);
    EXPECT_EQ(p.replies[0].lines[0], "ready");
}

TEST(ReplyParser, StatusClassMustMatchCode) {
    auto p = parse_chunks({"250 5.7.1 odd\r\n"});
    ASSERT_EQ(p.replies.size(), 1u);
    EXPECT_FALSE(p.replies[0].status.present());
    EXPECT_EQ(p.replies[0].lines[0], "5.7.1 odd");
}

TEST(ReplyParser, StatusNeedsSpaceAfter) {
    auto p = parse_chunks({"550 5.1.1x no\r\n"});
    EXPECT_FALSE(p.replies.at(0).status.present());
}

TEST(ReplyParser, GarbageIsInvalid) {
    EXPECT_TRUE(parse_chunks({"HTTP/1.1 400 Bad\r\n"}).invalid);
}
TEST(ReplyParser, CodeOutOfRangeIsInvalid) {
    EXPECT_TRUE(parse_chunks({"199 no\r\n"}).invalid);
}
TEST(ReplyParser, BadSeparatorIsInvalid) {
    EXPECT_TRUE(parse_chunks({"250+x\r\n"}).invalid);
}
TEST(ReplyParser, ContinuationWithOtherCodeIsInvalid) {
    EXPECT_TRUE(parse_chunks({"250-a\r\n251 b\r\n"}).invalid);
}

TEST(ReplyParser, LineTooLongIsInvalidEvenWhenSplit) {
    std::string longline = "250 " + std::string(ReplyParser::max_line, 'x') + "\r\n";
    EXPECT_TRUE(parse_chunks({longline}).invalid);
    EXPECT_TRUE(parse_chunks({std::string_view(longline).substr(0, 3000),
                              std::string_view(longline).substr(3000)})
                    .invalid);
}

TEST(ReplyParser, TooManyLinesIsInvalid) {
    std::string many;
    for (std::size_t i = 0; i < ReplyParser::max_lines + 1; ++i) many += "250-X\r\n";
    many += "250 end\r\n";
    EXPECT_TRUE(parse_chunks({many}).invalid);
}

TEST(ReplyParser, StaysInvalid) {
    ReplyParser parser;
    EXPECT_EQ(parser.put("xyz\r\n").status, ReplyParser::Status::invalid);
    EXPECT_EQ(parser.put("250 ok\r\n").status, ReplyParser::Status::invalid);
}

TEST(ReplyParser, SummaryShowsCodeStatusAndText) {
    auto p = parse_chunks(
        {"550-5.7.60 Client does not have permissions\r\n550 5.7.60 to send as this sender\r\n"});
    EXPECT_EQ(p.replies.at(0).summary(), "550 5.7.60 Client does not have permissions ...");
    EXPECT_EQ(p.replies.at(0).lines.at(1), "to send as this sender");
}

}  // namespace
}  // namespace pb::smtp
