#include "core/host_port.hpp"

#include <gtest/gtest.h>

namespace pb {
namespace {

TEST(HostPort, AnIpv4AddressAndPort) {
    const auto hp = parse_host_port("127.0.0.1:8443");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "127.0.0.1");
    EXPECT_EQ(hp->port, 8443);
}

TEST(HostPort, AnIpv6LiteralLosesItsBrackets) {
    const auto hp = parse_host_port("[::1]:2525");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "::1");
    EXPECT_EQ(hp->port, 2525);
}

TEST(HostPort, AHostNameAndPortZeroForAnyFreePort) {
    const auto hp = parse_host_port("localhost:0");
    ASSERT_TRUE(hp);
    EXPECT_EQ(hp->host, "localhost");
    EXPECT_EQ(hp->port, 0);
    EXPECT_EQ(parse_host_port("mail.example:65535")->port, 65535);
}

TEST(HostPort, WhatIsNotHostColonPortIsRefused) {
    for (const char* bad :
         {"127.0.0.1", ":8443", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+5",
          "127.0.0.1:80x", "127.0.0.1: 80", "::1:2525", "[]:25", "[::1:25", "", ":"})
        EXPECT_FALSE(parse_host_port(bad)) << bad;
}

}  // namespace
}  // namespace pb
