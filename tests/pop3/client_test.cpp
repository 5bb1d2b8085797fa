// pop3::login's local failures and pop3_config, without a server.
#include "pop3/client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

namespace pb::pop3 {
namespace {

using namespace std::chrono_literals;

settings::Settings profile(std::map<std::string, std::string> values) {
    return settings::Settings(std::move(values));
}

TEST(Pop3Config, FromTheProfile) {
    const auto s = profile({{"email.pop3.host", "pop.example.com"},
                            {"email.pop3.port", "1110"},
                            {"email.pop3.security", "none"},
                            {"email.account", "scanner"},
                            {"email.smtp.verify_cert", "false"}});
    const std::vector<std::string> cas{"/state/ca/1.pem"};
    auto c = pop3_config(s.profile_config("email"), "email", Secret("pw"), cas);
    ASSERT_TRUE(c.ok()) << c.error().detail;
    EXPECT_EQ(c->host, "pop.example.com");
    EXPECT_EQ(c->port, 1110);
    EXPECT_EQ(c->security, Security::none);
    EXPECT_EQ(c->user, "scanner");
    EXPECT_EQ(c->password.reveal(), "pw");
    EXPECT_FALSE(c->tls.verify);
    EXPECT_EQ(c->tls.ca_files, cas);
}

TEST(Pop3Config, DefaultsAreStlsOn110WithVerification) {
    const auto s = profile({{"email.pop3.host", "pop.example.com"}, {"email.account", "scanner"}});
    auto c = pop3_config(s.profile_config("email"), "email", Secret("pw"), {});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->port, 110);
    EXPECT_EQ(c->security, Security::starttls);
    EXPECT_TRUE(c->tls.verify);
}

// ssl-tls with the port left at POP3's default means POP3S's port.
TEST(Pop3Config, SslTlsOnTheDefaultPortIs995) {
    auto s = profile({{"email.pop3.host", "pop.example.com"},
                      {"email.pop3.security", "ssl-tls"},
                      {"email.account", "scanner"}});
    auto c = pop3_config(s.profile_config("email"), "email", Secret("pw"), {});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->port, 995);
    s.values()["email.pop3.port"] = "110";  // set on purpose: kept
    c = pop3_config(s.profile_config("email"), "email", Secret("pw"), {});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->port, 110);
}

TEST(Pop3Config, UserProfileInheritsTheServer) {
    const auto s = profile({{"email.pop3.host", "pop.example.com"},
                            {"email.pop3.port", "2110"},
                            {"user:alice.account", "alice"}});
    auto c = pop3_config(s.profile_config("user:alice"), "user:alice", Secret("pw"), {});
    ASSERT_TRUE(c.ok()) << c.error().detail;
    EXPECT_EQ(c->host, "pop.example.com");
    EXPECT_EQ(c->port, 2110);
    EXPECT_EQ(c->user, "alice");
}

TEST(Pop3Config, MissingHostOrAccountNamesTheSetting) {
    auto c = pop3_config(profile({{"email.account", "scanner"}}).profile_config("email"), "email",
                         Secret("pw"), {});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, Errc::invalid_input);
    EXPECT_NE(c.error().detail.find("set email.pop3.host"), std::string::npos);
    c = pop3_config(profile({{"fax.pop3.host", "pop.example.com"}}).profile_config("fax"), "fax",
                    Secret("pw"), {});
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().detail.find("set fax.account"), std::string::npos);
}

Config local(std::uint16_t port) {
    Config c;
    c.host = "127.0.0.1";
    c.port = port;
    c.security = Security::none;
    c.user = "scanner";
    c.password = Secret("pw");
    c.timeout = 2s;
    return c;
}

// A port that nobody listens on: bind one, note it, close it.
std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

TEST(Pop3Login, RefusedConnectionIs602) {
    auto r = login(local(closed_port()));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::cannot_connect);
}

TEST(Pop3Login, EmptyPasswordIs652WithoutConnecting) {
    Config c = local(closed_port());
    c.password = Secret("");
    auto r = login_report(c);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, Errc::invalid_input);  // not 602: nothing was tried
    EXPECT_EQ(r.transcript, "");
}

// A server that accepts and then says nothing: the deadline ends it, 603.
TEST(Pop3Login, SilentServerTimesOut) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    Config c = local(ntohs(a.sin_port));
    c.timeout = 1s;
    const auto start = std::chrono::steady_clock::now();
    auto r = login_report(c);
    ::close(fd);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error->code, Errc::timed_out);
    EXPECT_EQ(r.phase, "while receiving the POP3 greeting");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

}  // namespace
}  // namespace pb::pop3
