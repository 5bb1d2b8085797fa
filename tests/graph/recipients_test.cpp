// The header block Graph gets: the envelope decides who receives the message.
#include "graph/recipients.hpp"

#include <gtest/gtest.h>

namespace pb::graph {
namespace {

using V = std::vector<std::string>;

TEST(GraphRecipients, UnchangedWhenHeadersMatchTheEnvelope) {
    const std::string h =
        "From: Scanner <scan@example.com>\r\nTo: Bob <bob@example.com>,\r\n carol@example.com\r\n"
        "Cc: dave@example.com\r\nSubject: s\r\n\r\n";
    const V env{"bob@example.com", "Carol@Example.com", "dave@example.com"};
    const auto p = plan_recipients(h, env);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->changed);
    EXPECT_EQ(p->header, h);
    EXPECT_TRUE(p->bcc.empty());
}

TEST(GraphRecipients, EnvelopeOnlyRecipientsBecomeBcc) {
    const std::string h = "From: scan@example.com\r\nTo: bob@example.com\r\nSubject: s\r\n\r\n";
    const auto p =
        plan_recipients(h, V{"bob@example.com", "boss@example.com", "audit@example.com"});
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->changed);
    EXPECT_EQ(p->bcc, (V{"boss@example.com", "audit@example.com"}));
    EXPECT_EQ(p->header,
              "From: scan@example.com\r\nTo: bob@example.com\r\nSubject: s\r\n"
              "Bcc: boss@example.com, audit@example.com\r\n\r\n");
}

TEST(GraphRecipients, NobodyOutsideTheEnvelope) {
    // A retry after bob got it, and a relayed message whose To names a list.
    const std::string h =
        "From: scan@example.com\r\nTo: \"Bob\" <bob@example.com>, Carol <carol@example.com>\r\n"
        "Cc: list@example.com\r\nBcc: old@example.com\r\nSubject: s\r\n\r\n";
    const auto p = plan_recipients(h, V{"carol@example.com", "member@example.com"});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->dropped, (V{"bob@example.com", "list@example.com"}));
    EXPECT_EQ(p->bcc, (V{"member@example.com"}));
    EXPECT_EQ(p->header,
              "From: scan@example.com\r\nTo: Carol <carol@example.com>\r\nSubject: s\r\n"
              "Bcc: member@example.com\r\n\r\n");
}

TEST(GraphRecipients, BareLineFeedsStayBare) {
    const auto p = plan_recipients("To: a@example.com\nSubject: s\n\n", V{"b@example.com"});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header, "Subject: s\nBcc: b@example.com\n\n");
}

TEST(GraphRecipients, UndisclosedRecipientsGroup) {
    const auto p = plan_recipients("To: undisclosed-recipients:;\r\n\r\n", V{"b@example.com"});
    ASSERT_TRUE(p);
    EXPECT_EQ(p->header, "To: undisclosed-recipients:;\r\nBcc: b@example.com\r\n\r\n");
}

TEST(GraphRecipients, UnreadableToIs652) {
    const auto p = plan_recipients("To: <<<\r\n\r\n", V{"b@example.com"});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, Errc::invalid_input);
}

TEST(GraphRecipients, HeaderEnd) {
    EXPECT_EQ(header_end("A: b\r\n\r\nbody"), 8u);
    EXPECT_EQ(header_end("A: b\n\nbody"), 6u);
    EXPECT_EQ(header_end("\r\nbody"), 2u);
    EXPECT_EQ(header_end("A: b\r\nC: d\r\n"), std::string_view::npos);
}

}  // namespace
}  // namespace pb::graph
