// The adapter over real sockets against in-process scripted servers: what
// the real peers cannot play (a server hiding STARTTLS, one that never
// speaks), and a whole plain send checked byte for byte on the wire.
#include "smtp/client.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "core/encoding.hpp"
#include "fake_server.hpp"

namespace pb::smtp {
namespace {

using namespace std::chrono_literals;

class FixedToken final : public TokenProvider {
  public:
    Result<Secret> access_token(bool forced) override {
        ++calls;
        forced_calls += forced ? 1 : 0;
        return Secret("fake-token");
    }
    int calls = 0;
    int forced_calls = 0;
};

ServerConfig local(std::uint16_t port, Security security) {
    ServerConfig c;
    c.host = "127.0.0.1";
    c.port = port;
    c.security = security;
    c.timeout_limit = 2s;
    return c;
}

TEST(Client, ServerHidingStartTlsIs614AndNoTokenLeaves) {
    test::FakeServer server(
        "220 fake ESMTP\r\n",
        {{"EHLO", "250-fake\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n"},
         {"QUIT", "221 bye\r\n"}});
    FixedToken tokens;
    Credentials cred;
    cred.method = AuthMethod::oauth2;
    cred.user = "scanner@example.com";
    cred.tokens = &tokens;
    StringSource body("Subject: x\r\n\r\nbody\r\n");
    std::vector<OutgoingMessage> msgs{
        {{"scanner@example.com", {"a@example.com"}, {}, false}, &body}};
    auto report = send(local(server.port(), Security::starttls), cred, msgs);
    ASSERT_TRUE(report.error);
    EXPECT_EQ(report.error->code, Errc::starttls_not_offered);
    ASSERT_EQ(report.messages.size(), 1u);
    EXPECT_EQ(report.messages[0].error->code, Errc::starttls_not_offered);
    EXPECT_EQ(tokens.calls, 0);
    const std::string wire = server.received();
    EXPECT_EQ(wire.find("AUTH"), std::string::npos);
    EXPECT_EQ(wire.find("MAIL"), std::string::npos);
}

TEST(Client, PlainSendWithoutAuthOverTheWire) {
    test::FakeServer server("220 fake ESMTP\r\n",
                            {{"EHLO", "250-fake\r\n250-SIZE 1000\r\n250 PIPELINING\r\n"},
                             {"MAIL", "250 2.1.0 ok\r\n"},
                             {"RCPT", "250 2.1.5 ok\r\n"},
                             {"DATA", "354 go\r\n"},
                             {".", "250 2.0.0 queued as A1\r\n"},
                             {"QUIT", "221 bye\r\n"}});
    StringSource body("Subject: x\n\n.dot\n");
    std::vector<OutgoingMessage> msgs{{{"dev@example.com", {"a@example.com"}, {}, false}, &body}};
    auto report = send(local(server.port(), Security::none), Credentials{}, msgs);
    EXPECT_TRUE(report.ok()) << (report.error ? report.error->describe() : "") << report.transcript;
    EXPECT_EQ(server.received(),
              "EHLO localhost\r\nMAIL FROM:<dev@example.com> SIZE=17\r\nRCPT "
              "TO:<a@example.com>\r\nDATA\r\n"
              "Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
    EXPECT_NE(report.transcript.find("C: <message body, 17 bytes>"), std::string::npos);
}

TEST(Client, SilentServerTimesOutWith603AndPhase) {
    test::FakeServer server("", {});
    auto cfg = local(server.port(), Security::none);
    cfg.timeout_limit = 300ms;
    auto t = test_connection(cfg, Credentials{});
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->code, Errc::timed_out);
    EXPECT_NE(t.error->detail.find("while receiving the initial server greeting"),
              std::string::npos);
    ASSERT_GE(t.steps.size(), 2u);
    EXPECT_TRUE(t.steps[0].ok);
    EXPECT_FALSE(t.steps[1].ok);
}

TEST(Client, RefusedConnectionIs602) {
    // A port that was just free: bind, read it, close.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    auto t = test_connection(local(ntohs(addr.sin_port), Security::none), Credentials{});
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->code, Errc::cannot_connect);
    ASSERT_EQ(t.steps.size(), 1u);
    EXPECT_FALSE(t.steps[0].ok);
}

TEST(Client, TlsHandshakeWithPlainServerIs611) {
    test::FakeServer server("220 not tls\r\n", {});
    auto t = test_connection(local(server.port(), Security::ssl_tls), Credentials{});
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->code, Errc::tls_handshake);
}

TEST(Client, TestConnectionReportsEachStep) {
    test::FakeServer server("220 fake\r\n",
                            {{"EHLO", "250-fake\r\n250-8BITMIME\r\n250 AUTH PLAIN\r\n"},
                             {"AUTH", "235 2.7.0 ok\r\n"},
                             {"QUIT", "221 bye\r\n"}});
    Credentials cred;
    cred.method = AuthMethod::smtp_auth;
    cred.user = "device";
    cred.password = Secret("device-pass");
    auto cfg = local(server.port(), Security::none);
    cfg.allow_plaintext_auth = true;  // the fake server has no TLS
    auto t = test_connection(cfg, cred);
    EXPECT_TRUE(t.ok()) << t.transcript;
    ASSERT_EQ(t.steps.size(), 3u);
    EXPECT_EQ(t.steps[2].name, "auth");
    EXPECT_TRUE(t.steps[2].ok);
    EXPECT_EQ(t.steps[2].detail, "PLAIN");
    EXPECT_EQ(server.received().find("MAIL"), std::string::npos);  // no mail sent
    EXPECT_EQ(t.transcript.find(base64_encode(std::string("\0device\0device-pass", 19))),
              std::string::npos);
}

// ---- a connection kept between batches (smtp::Sender) ----------------------

constexpr std::string_view one_message =
    "MAIL FROM:<dev@example.com>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n"
    "Subject: x\r\n\r\nhi\r\n.\r\n";

SendReport send_one(Sender& sender) {
    StringSource body("Subject: x\r\n\r\nhi\r\n");
    std::vector<OutgoingMessage> msgs{{{"dev@example.com", {"a@example.com"}, {}, false}, &body}};
    return sender.send(msgs);
}

TEST(Sender, SecondBatchGoesOverTheSameConnectionAndQuitEndsIt) {
    test::FakeServer server("220 fake ESMTP\r\n", test::accepting_script());
    Sender sender(local(server.port(), Security::none), Credentials{});
    auto first = send_one(sender);
    ASSERT_TRUE(first.ok()) << first.transcript;
    EXPECT_TRUE(sender.reusable());
    auto second = send_one(sender);
    ASSERT_TRUE(second.ok()) << second.transcript;
    EXPECT_NE(second.transcript.find("-- connection reused for 1 more message(s)"),
              std::string::npos)
        << second.transcript;
    sender.quit();
    EXPECT_FALSE(sender.reusable());
    EXPECT_EQ(server.received(), "EHLO localhost\r\n" + std::string(one_message) +
                                     std::string(one_message) + "QUIT\r\n");
}

TEST(Sender, ConnectionTheServerClosedWhileIdleIsNotReused) {
    // The server times the idle connection out: 421, then it hangs up.
    auto script = test::accepting_script();
    script["."] = "250 2.0.0 queued\r\n421 4.4.2 idle too long\r\n";
    test::FakeServer server("220 fake ESMTP\r\n", script, 2);
    Sender sender(local(server.port(), Security::none), Credentials{});
    ASSERT_TRUE(send_one(sender).ok());
    // The 421 is waiting unread: the connection is not quiet any more.
    for (int i = 0; i < 100 && sender.reusable(); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_FALSE(sender.reusable());
    auto second = send_one(sender);
    EXPECT_TRUE(second.ok()) << second.transcript;
    // The new connection met the same 421 right after its message: it is
    // not kept, and there is nothing to QUIT.
    EXPECT_FALSE(sender.reusable());
    sender.quit();
    EXPECT_EQ(server.received(), "EHLO localhost\r\n" + std::string(one_message) +
                                     "EHLO localhost\r\n" + std::string(one_message));
}

TEST(Sender, ConnectionDroppedAsItIsReusedStartsTheBatchOverOnANewOne) {
    // Quiet while idle, but gone when the next MAIL arrives: nothing of the
    // batch was sent, so it goes again over a new connection, once.
    auto script = test::accepting_script();
    script["MAIL#2"] = test::FakeServer::hang_up;
    test::FakeServer server("220 fake ESMTP\r\n", script, 2);
    Sender sender(local(server.port(), Security::none), Credentials{});
    ASSERT_TRUE(send_one(sender).ok());
    ASSERT_TRUE(sender.reusable());
    int results = 0;
    StringSource body("Subject: x\r\n\r\nhi\r\n");
    std::vector<OutgoingMessage> msgs{{{"dev@example.com", {"a@example.com"}, {}, false}, &body}};
    auto second = sender.send(msgs, [&](std::size_t, const MessageResult&) { ++results; });
    EXPECT_TRUE(second.ok()) << second.transcript;
    EXPECT_EQ(results, 1);  // told once, of the delivery that happened
    EXPECT_NE(second.transcript.find("broke on reuse"), std::string::npos) << second.transcript;
    sender.quit();
    EXPECT_EQ(server.received(), "EHLO localhost\r\n" + std::string(one_message) +
                                     "MAIL FROM:<dev@example.com>\r\nRCPT TO:<a@example.com>\r\n"
                                     "EHLO localhost\r\n" +
                                     std::string(one_message) + "QUIT\r\n");
}

TEST(Sender, ABodyAlreadyUnderWayIsNeverSentTwice) {
    // The server hangs up at the end of data on a reused connection: the
    // message may have been taken, so it is reported, not sent again.
    auto script = test::accepting_script();
    script[".#2"] = test::FakeServer::hang_up;
    test::FakeServer server("220 fake ESMTP\r\n", script, 2);
    Sender sender(local(server.port(), Security::none), Credentials{});
    ASSERT_TRUE(send_one(sender).ok());
    auto second = send_one(sender);
    ASSERT_TRUE(second.error);
    ASSERT_EQ(second.messages.size(), 1u);
    EXPECT_TRUE(second.messages[0].maybe_sent);
    EXPECT_FALSE(sender.reusable());
    EXPECT_EQ(server.received(),
              "EHLO localhost\r\n" + std::string(one_message) + std::string(one_message));
}

}  // namespace
}  // namespace pb::smtp
