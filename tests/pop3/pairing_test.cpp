// POP before SMTP end to end: a real POP3 login at Dovecot, then an SMTP
// session without AUTH to a scripted server that relays only for a client
// whose POP3 login it has seen, the way the classic pop-before-smtp daemons
// work: they watch the POP3 server's log for "Login: ... rip=ADDRESS".
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "core/source.hpp"
#include "pop3/client.hpp"
#include "smtp/client.hpp"
#include "support/peers.hpp"

namespace pb::pop3 {
namespace {

using namespace std::chrono_literals;

std::string env(const std::string& key) {
    return pb::test::Peers::get().at(key);
}

// Dovecot's successful POP3 logins of `user` from 127.0.0.1, so far.
std::size_t logins_seen(const std::string& user) {
    std::ifstream in(env("PB_RUNDIR") + "/dovecot.log");
    std::string line;
    std::size_t n = 0;
    const std::string mark = "pop3-login: Info: Login: user=<" + user + ">";
    while (std::getline(in, line))
        if (line.find(mark) != std::string::npos &&
            line.find("rip=127.0.0.1,") != std::string::npos)
            ++n;
    return n;
}

// One SMTP connection at a time on 127.0.0.1, no AUTH: MAIL is accepted
// only when relay_allowed() says so.
class GateServer {
  public:
    explicit GateServer(std::function<bool()> relay_allowed) : allowed_(std::move(relay_allowed)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listener_, 4), 0);
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] {
            while (!stop_) serve_one();
        });
    }
    ~GateServer() {
        stop_ = true;
        thread_.join();
        ::close(listener_);
    }
    std::uint16_t port() const { return port_; }
    std::size_t delivered() const { return delivered_; }

  private:
    void serve_one() {
        pollfd lp{listener_, POLLIN, 0};
        if (::poll(&lp, 1, 50) <= 0) return;
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        auto say = [&](std::string_view s) { (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL); };
        say("220 gate.test ESMTP\r\n");
        std::string in;
        bool data = false;
        char buf[4096];
        for (bool open = true; open && !stop_;) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            in.append(buf, static_cast<std::size_t>(n));
            for (;;) {
                if (data) {
                    const auto end = in.find("\r\n.\r\n");
                    if (end == std::string::npos) break;
                    in.erase(0, end + 5);
                    data = false;
                    ++delivered_;
                    say("250 2.0.0 queued\r\n");
                    continue;
                }
                const auto eol = in.find("\r\n");
                if (eol == std::string::npos) break;
                const std::string cmd = in.substr(0, eol);
                in.erase(0, eol + 2);
                const std::string verb = cmd.substr(0, 4);
                if (verb == "EHLO")
                    say("250-gate.test\r\n250 PIPELINING\r\n");
                else if (verb == "MAIL")
                    say(allowed_() ? "250 2.1.0 OK\r\n"
                                   : "554 5.7.1 Relaying denied: log in with POP3 first\r\n");
                else if (verb == "RCPT")
                    say("250 2.1.5 OK\r\n");
                else if (verb == "DATA") {
                    say("354 go ahead\r\n");
                    data = true;
                } else if (verb == "RSET")
                    say("250 2.0.0 OK\r\n");
                else if (verb == "QUIT") {
                    say("221 2.0.0 bye\r\n");
                    open = false;
                    break;
                } else
                    say("502 5.5.2 what\r\n");
            }
        }
        ::close(fd);
    }

    std::function<bool()> allowed_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> delivered_{0};
    std::thread thread_;
};

smtp::SendReport send_one(std::uint16_t port) {
    smtp::ServerConfig server;
    server.host = "127.0.0.1";
    server.port = port;
    server.security = smtp::Security::none;
    server.timeout_limit = 10s;
    smtp::Credentials off;  // POP before SMTP: no AUTH on the SMTP side
    StringSource body("From: device@example.test\r\nSubject: scan\r\n\r\npages\r\n");
    std::vector<smtp::OutgoingMessage> msgs{
        {{"device@example.test", {"someone@example.test"}, {}, false}, &body}};
    return smtp::send(server, off, msgs);
}

TEST(PopBeforeSmtp, RelayOnlyAfterARealPop3Login) {
    if (!pb::test::Peers::get().find("PB_POP3_PORT"))
        GTEST_SKIP() << "no Dovecot POP3 (run with the interop fixture)";
    const std::string user = env("PB_POP3_USER");
    const std::size_t before = logins_seen(user);
    GateServer gate([&] { return logins_seen(user) > before; });

    // Without the POP3 login the server refuses to relay.
    const auto refused = send_one(gate.port());
    ASSERT_FALSE(refused.ok());
    ASSERT_EQ(refused.messages.size(), 1u);
    EXPECT_NE(refused.messages[0].reply.summary().find("log in with POP3 first"), std::string::npos)
        << refused.transcript;
    EXPECT_EQ(gate.delivered(), 0u);

    // The profile's POP3 login (as pop3_config builds it), then SMTP.
    settings::Settings s({{"email.auth_method", "pop-before-smtp"},
                          {"email.pop3.host", env("PB_POP3_HOST")},
                          {"email.pop3.port", env("PB_POP3_PORT")},
                          {"email.pop3.security", "starttls"},
                          {"email.account", user}});
    const std::vector<std::string> cas{env("PB_TEST_CA")};
    auto config =
        pop3_config(s.profile_config("email"), "email", Secret(env("PB_POP3_PASSWORD")), cas);
    ASSERT_TRUE(config.ok()) << config.error().detail;
    config->tls.system_store = false;
    auto logged_in = login(*config);
    ASSERT_TRUE(logged_in.ok()) << logged_in.error().describe();
    for (int i = 0; i < 50 && logins_seen(user) == before; ++i) std::this_thread::sleep_for(20ms);

    const auto sent = send_one(gate.port());
    EXPECT_TRUE(sent.ok()) << sent.transcript;
    EXPECT_EQ(gate.delivered(), 1u);
    EXPECT_EQ(sent.transcript.find("AUTH"), std::string::npos);
}

}  // namespace
}  // namespace pb::pop3
