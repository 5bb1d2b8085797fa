// relay.allowed_networks and listen addresses.
#include "relay/networks.hpp"

#include <gtest/gtest.h>

#include "relay/server.hpp"

namespace pb::relay {
namespace {

TEST(RelayNetworks, MatchesV4V6AndMapped) {
    auto n = Networks::parse("192.168.1.0/24, 10.0.0.5,fd12::/16 , 127.0.0.9/32");
    ASSERT_TRUE(n.ok()) << n.error().detail;
    EXPECT_TRUE(n->contains("192.168.1.77"));
    EXPECT_FALSE(n->contains("192.168.2.1"));
    EXPECT_TRUE(n->contains("10.0.0.5"));
    EXPECT_FALSE(n->contains("10.0.0.6"));
    EXPECT_TRUE(n->contains("fd12::1"));
    EXPECT_FALSE(n->contains("fe80::1"));
    EXPECT_TRUE(n->contains("::ffff:192.168.1.3"));
    EXPECT_TRUE(n->contains("127.0.0.9"));
    EXPECT_FALSE(n->contains("127.0.0.1"));
    EXPECT_FALSE(n->contains("not an address"));
}

TEST(RelayNetworks, OddPrefixes) {
    auto n = Networks::parse("10.1.2.0/23,10.0.0.0/8");
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(n->contains("10.1.3.255"));
    auto none = Networks::parse("10.1.2.0/23");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->contains("10.1.4.0"));
    EXPECT_TRUE(none->contains("10.1.2.0"));
    auto wide = Networks::parse("10.0.0.0/8, 2001:db8::/16");
    ASSERT_TRUE(wide.ok()) << wide.error().detail;
    EXPECT_TRUE(wide->contains("10.200.1.1"));
    EXPECT_TRUE(wide->contains("2001:ffff::1"));
    EXPECT_FALSE(wide->contains("::1"));
}

// Row "relay.allowed_networks 0.0.0.0/0": refused, with the reason.
TEST(RelayNetworks, TooWideNetworksAreRefusedWithTheReason) {
    for (const char* wide : {"0.0.0.0/0", "10.0.0.0/7", "::/0", "2000::/3", "2001:db8::/15"}) {
        auto n = Networks::parse(std::string("192.168.0.0/16,") + wide);
        ASSERT_FALSE(n.ok()) << wide;
        EXPECT_EQ(n.error().code, Errc::invalid_input);
        EXPECT_NE(n.error().detail.find(wide), std::string::npos) << n.error().detail;
        EXPECT_NE(n.error().detail.find("too wide"), std::string::npos) << n.error().detail;
    }
}

TEST(RelayNetworks, EmptyMeansNobody) {
    auto n = Networks::parse("");
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(n->empty());
    EXPECT_FALSE(n->contains("127.0.0.1"));
}

TEST(RelayNetworks, BadEntryIsNamed) {
    for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "host.example", "::1/129", "1.2.3.4/"}) {
        auto n = Networks::parse(std::string("192.168.0.0/16,") + bad);
        ASSERT_FALSE(n.ok()) << bad;
        EXPECT_EQ(n.error().code, Errc::invalid_input);
        EXPECT_NE(n.error().detail.find(bad), std::string::npos) << n.error().detail;
    }
}

TEST(RelayListen, SplitsHostAndPort) {
    auto a = split_host_port("127.0.0.1:2525", "relay.listen");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->first, "127.0.0.1");
    EXPECT_EQ(a->second, 2525);
    auto b = split_host_port("[::1]:0", "relay.listen");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->first, "::1");
    EXPECT_EQ(b->second, 0);
    auto c = split_host_port("127.0.0.1", "relay.listen");
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().detail.find("relay.listen"), std::string::npos);
    EXPECT_FALSE(split_host_port("h:70000", "k").ok());
}

}  // namespace
}  // namespace pb::relay
