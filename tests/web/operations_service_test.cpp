// Operations over serve's outbox: the connection test runs on a thread of
// its own, so a server that never answers holds up nothing else. And the
// sign-in driver's status of an app-only profile.
#include "web/operations_service.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "web/signin_service.hpp"

namespace pb::web {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A port on loopback whose connections the kernel completes but nobody
// accepts: an SMTP client waits there for a greeting that never comes.
class SilentServer {
  public:
    SilentServer() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
            ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            ADD_FAILURE() << "cannot listen on loopback";
        port_ = ntohs(a.sin_port);
    }
    ~SilentServer() { close(); }
    std::uint16_t port() const { return port_; }
    // Connections waiting in the backlog are reset: the client sees it.
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

TEST(OperationsServiceTest, TheConnectionTestRunsOnItsOwnThreadAndItsResultIsGivenOnce) {
    const fs::path dir = fs::temp_directory_path() / ("pb-ops-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    SilentServer server;
    SystemClock clock;
    SystemRandom rng;
    {
        auto box = service::Outbox::open(dir, clock, rng);
        ASSERT_TRUE(box) << box.error().describe();
        ASSERT_TRUE((*box)->store().set_values({{"email.auth_method", "smtp-auth"},
                                                {"email.smtp.host", "127.0.0.1"},
                                                {"email.smtp.port", std::to_string(server.port())},
                                                {"email.smtp.security", "starttls"},
                                                {"email.sender", "device@example.test"},
                                                {"email.account", "device"},
                                                {"email.password", "device-pass"}}));
        auto ops = make_operations((*box)->store(), **box, clock, rng);
        EXPECT_FALSE(ops->take_connection_test("email")) << "none was started";

        ops->start_connection_test("email");  // returns while the test waits for a greeting
        EXPECT_TRUE(ops->connection_test_running("email"));
        EXPECT_FALSE(ops->take_connection_test("email"));
        ops->start_connection_test("email");  // one at a time: this does nothing

        server.close();
        for (int i = 0; i < 1000 && ops->connection_test_running("email"); ++i)
            std::this_thread::sleep_for(10ms);
        ASSERT_FALSE(ops->connection_test_running("email"));
        auto r = ops->take_connection_test("email");
        ASSERT_TRUE(r);
        ASSERT_TRUE(*r) << r->error().describe();
        EXPECT_FALSE((**r).value("ok", true)) << (**r).dump();
        EXPECT_FALSE(ops->take_connection_test("email")) << "a result is given once";
    }
    fs::remove_all(dir);
}

// An app-only profile (client credentials) signs in by itself when it
// sends: before its first token, Web Config's Current Status says so rather
// than "Signed out", which sent administrators looking for a sign-in button.
TEST(SignInServiceTest, AnAppOnlyProfileWithNoTokenYetIsNotSignedOut) {
    const fs::path dir = fs::temp_directory_path() / ("pb-signin-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    SystemClock clock;
    SystemRandom rng;
    {
        auto box = service::Outbox::open(dir, clock, rng);
        ASSERT_TRUE(box) << box.error().describe();
        ASSERT_TRUE((*box)->store().set_values({{"email.auth_method", "oauth2"}}));
        auto signin = make_signin_service(dir, {}, clock, [](std::string_view) {});
        ASSERT_TRUE(signin) << signin.error().describe();
        EXPECT_EQ(status_label((*signin)->status("email")), "Signed out");
        ASSERT_TRUE((*box)->store().set_values({{"email.oauth.grant", "client-credentials"}}));
        const SignInStatus s = (*signin)->status("email");
        EXPECT_TRUE(s.app_only);
        EXPECT_EQ(s.state, SignInStatus::State::signed_out);
        EXPECT_EQ(status_label(s), "App-only (signs in by itself when it sends)");
    }
    fs::remove_all(dir);
}

}  // namespace
}  // namespace pb::web
