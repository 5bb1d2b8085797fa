// The relay's Received: header (relay/received.hpp): Postfix's form, RFC
// 3848's protocol names, nothing a client sends able to break the header.
#include "relay/received.hpp"

#include <gtest/gtest.h>

namespace pb::relay {
namespace {

const TimePoint kWhen{std::chrono::seconds{1796601600}};  // 2026-12-07 00:00:00 UTC

Envelope envelope(std::vector<std::string> recipients) {
    Envelope e;
    e.sender = "copier@lan.example";
    e.recipients = std::move(recipients);
    e.helo = "copier.lan";
    return e;
}

std::string whole(const spool::Trace& t, std::string_view id = "12") {
    return t.head + std::string(id) + t.tail;
}

TEST(Received, PlainFromAnAllowedNetworkWithSeveralRecipientsNamesNone) {
    const auto t = received_header(envelope({"a@example.com", "b@example.com"}),
                                   Arrival{"192.0.2.7", std::nullopt, "relay.lan"}, kWhen);
    EXPECT_EQ(whole(t),
              "Received: from copier.lan (unknown [192.0.2.7])\r\n"
              "\tby relay.lan (postbridge) with ESMTP id 12;\r\n"
              "\tMon, 07 Dec 2026 00:00:00 +0000\r\n");
}

TEST(Received, TlsAndLoginSayEsmtpsaAndWhoAndHow) {
    Envelope e = envelope({"a@example.com"});
    e.user = "copier";
    const auto t = received_header(
        e,
        Arrival{"2001:db8::7", "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
                "relay.lan"},
        kWhen);
    EXPECT_EQ(whole(t),
              "Received: from copier.lan (unknown [IPv6:2001:db8::7])\r\n"
              "\t(using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits))\r\n"
              "\t(Authenticated sender: copier)\r\n"
              "\tby relay.lan (postbridge) with ESMTPSA id 12\r\n"
              "\tfor <a@example.com>; Mon, 07 Dec 2026 00:00:00 +0000\r\n");
}

TEST(Received, ProtocolNamesFollowRfc3848) {
    auto with = [](bool esmtp, bool tls, bool user) {
        Envelope e = envelope({"a@example.com"});
        e.esmtp = esmtp;
        if (user) e.user = "copier";
        const auto t = received_header(
            e, Arrival{"192.0.2.7", tls ? std::optional<std::string>("TLS") : std::nullopt, "r"},
            kWhen);
        const auto at = t.head.find(" with ");
        return t.head.substr(at + 6, t.head.size() - at - 6 - 4);  // up to " id "
    };
    EXPECT_EQ(with(true, false, false), "ESMTP");
    EXPECT_EQ(with(true, true, false), "ESMTPS");
    EXPECT_EQ(with(true, false, true), "ESMTPA");
    EXPECT_EQ(with(true, true, true), "ESMTPSA");
    EXPECT_EQ(with(false, false, false), "SMTP");
}

TEST(Received, AnIpv4ClientOnADualStackListenerIsShownAsIpv4) {
    const auto t = received_header(envelope({"a@example.com"}),
                                   Arrival{"::ffff:192.0.2.7", std::nullopt, "r"}, kWhen);
    EXPECT_TRUE(t.head.starts_with("Received: from copier.lan (unknown [192.0.2.7])\r\n"))
        << t.head;
}

TEST(Received, AnEhloNameCannotCloseTheCommentOrAddALine) {
    Envelope e = envelope({"a@example.com"});
    e.helo = "x)\t(Authenticated sender: admin";
    const auto t = received_header(e, Arrival{"192.0.2.7", std::nullopt, "r"}, kWhen);
    EXPECT_TRUE(t.head.starts_with("Received: from x???Authenticated?sender:?admin (unknown "))
        << t.head;
    e.helo = "";
    EXPECT_TRUE(received_header(e, Arrival{"192.0.2.7", std::nullopt, "r"}, kWhen)
                    .head.starts_with("Received: from unknown (unknown "));
}

}  // namespace
}  // namespace pb::relay
