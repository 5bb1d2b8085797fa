// EHLO keyword parsing, with Exchange Online's real lists (providers.md 2).
#include "smtp/capabilities.hpp"

#include <gtest/gtest.h>

namespace pb::smtp {
namespace {

Capabilities caps_of(std::vector<std::string> lines) {
    return parse_capabilities(lines);
}

TEST(Capabilities, Office365BeforeTls) {
    auto c = caps_of({"smtp.office365.com Hello", "SIZE 157286400", "PIPELINING", "DSN",
                      "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME", "BINARYMIME", "CHUNKING",
                      "SMTPUTF8"});
    EXPECT_EQ(c.size, 157286400u);
    EXPECT_TRUE(c.pipelining && c.dsn && c.enhanced_status_codes && c.starttls && c.eightbitmime &&
                c.chunking && c.smtputf8);
    EXPECT_TRUE(c.auth.empty());
}

TEST(Capabilities, Office365AfterTlsAuth) {
    auto c = caps_of({"host", "AUTH LOGIN XOAUTH2"});
    EXPECT_TRUE(c.offers_auth("XOAUTH2"));
    EXPECT_TRUE(c.offers_auth("login"));
    EXPECT_FALSE(c.offers_auth("PLAIN"));
    EXPECT_FALSE(c.starttls);
}

TEST(Capabilities, OldAuthEqualsFormMerged) {
    auto c = caps_of({"host", "AUTH PLAIN LOGIN", "AUTH=LOGIN"});
    EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN", "LOGIN"}));
}

TEST(Capabilities, KeywordsAreCaseInsensitive) {
    auto c = caps_of({"host", "starttls", "auth xoauth2 oauthbearer", "Pipelining"});
    EXPECT_TRUE(c.starttls);
    EXPECT_TRUE(c.pipelining);
    EXPECT_EQ(c.auth, (std::vector<std::string>{"XOAUTH2", "OAUTHBEARER"}));
}

TEST(Capabilities, SizeWithoutNumberMeansNoStatedLimit) {
    EXPECT_EQ(caps_of({"h", "SIZE"}).size, 0u);
}
TEST(Capabilities, MalformedSizeIgnored) {
    EXPECT_FALSE(caps_of({"h", "SIZE 12abc"}).size.has_value());
}
TEST(Capabilities, HugeSizeIgnored) {
    EXPECT_FALSE(caps_of({"h", "SIZE 99999999999999999999999"}).size.has_value());
}
TEST(Capabilities, FirstLineIsNotAKeyword) {
    EXPECT_FALSE(caps_of({"STARTTLS"}).starttls);
}

}  // namespace
}  // namespace pb::smtp
