// SmtpTransport's kept connections, over real sockets against the scripted
// server: one connection across batches while the settings stay the same,
// a new one when they change, none kept for a profile that was signed out,
// and QUIT for connections idle too long.
#include "delivery/smtp_transport.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../smtp/fake_server.hpp"

namespace pb::delivery {
namespace {

using namespace std::chrono_literals;
using smtp::test::FakeServer;

SmtpEndpoint endpoint_for(std::uint16_t port, const std::string& helo = "localhost") {
    SmtpEndpoint e;
    e.server.host = "127.0.0.1";
    e.server.port = port;
    e.server.security = smtp::Security::none;
    e.server.helo_name = helo;
    e.server.timeout_limit = 2s;
    return e;
}

BatchOutcome send_batch(SmtpTransport& t, std::size_t n) {
    std::vector<StringSource> bodies(n, StringSource("Subject: x\r\n\r\nhi\r\n"));
    std::vector<OutgoingMessage> msgs;
    for (std::size_t i = 0; i < n; ++i)
        msgs.push_back({static_cast<std::int64_t>(i + 1),
                        "dev@example.com",
                        {"a@example.com"},
                        &bodies[i],
                        0});
    return t.send("email", msgs);
}

bool all_sent(const BatchOutcome& o) {
    for (const auto& m : o.messages)
        if (m.error) return false;
    return !o.messages.empty();
}

std::size_t count(const std::string& hay, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
}

TEST(SmtpTransport, BatchesOfAProfileShareOneConnection) {
    FakeServer server("220 fake\r\n", smtp::test::accepting_script(), 2);
    int resolved = 0;
    {
        SmtpTransport t([&](const std::string&) -> Result<SmtpEndpoint> {
            ++resolved;
            return endpoint_for(server.port());
        });
        for (int batch = 0; batch < 3; ++batch) ASSERT_TRUE(all_sent(send_batch(t, 2)));
        EXPECT_EQ(t.kept(), 1u);
    }                        // destroying the transport QUITs what it kept
    EXPECT_EQ(resolved, 3);  // settings are still read for every batch
    const std::string wire = server.received();
    EXPECT_EQ(count(wire, "EHLO "), 1u) << wire;
    EXPECT_EQ(count(wire, "MAIL FROM"), 6u);
    EXPECT_EQ(count(wire, "QUIT"), 1u);
}

TEST(SmtpTransport, ChangedSettingsGetANewConnection) {
    // `config set email.smtp.port ...` while a connection is kept: the next
    // batch goes to the new server, the old connection is not used again.
    FakeServer before("220 fake\r\n", smtp::test::accepting_script(), 1);
    FakeServer after("220 fake\r\n", smtp::test::accepting_script(), 1);
    std::uint16_t port = before.port();
    {
        SmtpTransport t(
            [&](const std::string&) -> Result<SmtpEndpoint> { return endpoint_for(port); });
        ASSERT_TRUE(all_sent(send_batch(t, 1)));
        port = after.port();
        ASSERT_TRUE(all_sent(send_batch(t, 1)));
        ASSERT_TRUE(all_sent(send_batch(t, 1)));
        EXPECT_EQ(t.kept(), 2u);  // the first one stays until idle too long
    }
    EXPECT_EQ(count(before.received(), "MAIL FROM"), 1u);
    const std::string wire = after.received();
    EXPECT_EQ(count(wire, "EHLO "), 1u) << wire;
    EXPECT_EQ(count(wire, "MAIL FROM"), 2u) << wire;
}

TEST(SmtpTransport, SignedOutProfileLosesItsKeptConnection) {
    FakeServer server("220 fake\r\n", smtp::test::accepting_script(), 1);
    bool signed_in = true;
    SmtpTransport t([&](const std::string&) -> Result<SmtpEndpoint> {
        if (!signed_in) return fail(Errc::not_signed_in, "profile email is not signed in");
        return endpoint_for(server.port());
    });
    ASSERT_TRUE(all_sent(send_batch(t, 1)));
    EXPECT_EQ(t.kept(), 1u);
    signed_in = false;
    auto held = send_batch(t, 1);
    ASSERT_EQ(held.messages.size(), 1u);
    ASSERT_TRUE(held.messages[0].error);
    EXPECT_EQ(held.messages[0].error->code, Errc::not_signed_in);
    EXPECT_EQ(t.kept(), 0u);
    EXPECT_EQ(count(server.received(), "QUIT"), 1u);
}

TEST(SmtpTransport, TidyWhileABatchIsUnderWayLeavesItAlone) {
    // serve's engine tidies from its own thread while workers send: a
    // connection in use is not among the kept ones.
    FakeServer server("220 fake\r\n", smtp::test::accepting_script(), 1);
    SmtpTransport t(
        [&](const std::string&) -> Result<SmtpEndpoint> { return endpoint_for(server.port()); });
    ASSERT_TRUE(all_sent(send_batch(t, 1)));
    ASSERT_EQ(t.kept(), 1u);
    StringSource body("Subject: x\r\n\r\nhi\r\n");
    std::vector<OutgoingMessage> msgs{{1, "dev@example.com", {"a@example.com"}, &body, 0}};
    std::size_t kept_meanwhile = 99;
    auto out = t.send("email", msgs, [&](std::size_t, const MessageOutcome&) {
        t.tidy();
        kept_meanwhile = t.kept();
    });
    ASSERT_TRUE(all_sent(out));
    EXPECT_EQ(kept_meanwhile, 0u);
    EXPECT_EQ(t.kept(), 1u);
}

TEST(SmtpTransport, IdleConnectionsAreClosedByTidy) {
    FakeServer server("220 fake\r\n", smtp::test::accepting_script(), 2);
    ConnectionReuse reuse;
    reuse.idle = 0s;  // every connection is idle too long at once
    SmtpTransport t(
        [&](const std::string&) -> Result<SmtpEndpoint> { return endpoint_for(server.port()); },
        reuse);
    ASSERT_TRUE(all_sent(send_batch(t, 1)));
    EXPECT_EQ(t.kept(), 1u);
    t.tidy();
    EXPECT_EQ(t.kept(), 0u);
    ASSERT_TRUE(all_sent(send_batch(t, 1)));  // a new connection
    t.tidy();
    const std::string wire = server.received();
    EXPECT_EQ(count(wire, "EHLO "), 2u) << wire;
    EXPECT_EQ(count(wire, "QUIT"), 2u) << wire;
}

}  // namespace
}  // namespace pb::delivery
