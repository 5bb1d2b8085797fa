// The relay's listeners (relay/server.cpp) with real sockets on loopback:
// several devices at once, logins and submissions handed to the worker
// threads, the per-client limit, and a shutdown with connections still open.
// The protocol itself is tested on transcripts (session_test.cpp); this is
// the threaded part, built under ThreadSanitizer too (scripts/test).
#include "relay/server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/encoding.hpp"
#include "support/temp_dir.hpp"
#include "web/certificate.hpp"

namespace pb::relay {
namespace {

using namespace std::chrono_literals;

struct Submitted {
    Envelope envelope;
    std::string client;
    std::string message;
};

// A backend that keeps what it is given; called on the server's workers.
class RecordingBackend final : public Backend {
  public:
    Result<LoginVerdict> check_login(const std::string&, const std::string& user,
                                     const Secret& password) override {
        if (user == "guesser") {  // a slow check the test holds
            {
                std::lock_guard lock(mutex_);
                ++held_;
            }
            held_cv_.notify_all();
            release_.wait();
            return LoginVerdict{LoginVerdict::bad, {}};
        }
        std::lock_guard lock(mutex_);
        ++logins_;
        const bool ok = user == "scanner" && password.reveal() == "device-pass";
        return LoginVerdict{ok ? LoginVerdict::ok : LoginVerdict::bad, {}};
    }
    void wait_held(int n) {
        std::unique_lock lock(mutex_);
        held_cv_.wait(lock, [&] { return held_ >= n; });
    }
    void release() { release_promise_.set_value(); }
    std::string submit(const Envelope& envelope, const Arrival& arrival,
                       ByteSource& message) override {
        std::string body;
        char buf[512];
        for (;;) {
            auto n = message.read(buf);
            if (!n.ok()) return "451 4.3.0 cannot read the message";
            if (*n == 0) break;
            body.append(buf, *n);
        }
        std::lock_guard lock(mutex_);
        submitted_.push_back({envelope, arrival.client, std::move(body)});
        return "250 2.0.0 queued as " + std::to_string(submitted_.size());
    }
    std::vector<Submitted> submitted() const {
        std::lock_guard lock(mutex_);
        return submitted_;
    }
    int logins() const {
        std::lock_guard lock(mutex_);
        return logins_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<Submitted> submitted_;
    int logins_ = 0;
    int held_ = 0;
    std::condition_variable held_cv_;
    std::promise<void> release_promise_;
    std::shared_future<void> release_ = release_promise_.get_future().share();
};

// A device: a blocking socket that reads whole replies (a multi-line reply
// ends with the line whose code is followed by a space).
class Client {
  public:
    explicit Client(std::uint16_t port, const char* address = "127.0.0.1")
        : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        ::inet_pton(AF_INET, address, &a.sin_addr);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~Client() { ::close(fd_); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    bool connected() const { return connected_; }

    // The next whole reply, "" when the server closed or was silent for 10 s.
    std::string reply() {
        std::string out;
        for (;;) {
            const auto eol = pending_.find("\r\n");
            if (eol != std::string::npos) {
                const std::string line = pending_.substr(0, eol + 2);
                pending_.erase(0, eol + 2);
                out += line;
                if (line.size() < 4 || line[3] != '-') return out;
                continue;
            }
            char buf[1024];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return out;
            pending_.append(buf, static_cast<std::size_t>(n));
        }
    }
    std::string command(const std::string& line) {
        send(line + "\r\n");
        return reply();
    }
    void send(const std::string& bytes) {
        ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(bytes.size()));
    }

  private:
    int fd_;
    bool connected_ = false;
    std::string pending_;
};

std::uint16_t port_of(const std::string& address) {
    return static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

ServerOptions options(std::string_view allowed) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.allowed = *Networks::parse(allowed);
    o.session.require_tls = false;  // no certificate here: AUTH in plain text
    o.spill_dir = ::testing::TempDir();
    o.workers = 3;
    return o;
}

// The server on `o`, or null with the test failed.
std::unique_ptr<Server> started(const ServerOptions& o, Backend& backend) {
    auto s = Server::start(o, backend);
    if (s) return std::move(*s);
    ADD_FAILURE() << s.error().describe();
    return nullptr;
}

// What the server logs (ServerOptions::log), for a test to count lines in.
class LogLines {
  public:
    std::function<void(std::string_view)> sink() {
        return [this](std::string_view line) {
            std::lock_guard lock(mu_);
            lines_.emplace_back(line);
        };
    }
    long count(std::string_view needle) const {
        std::lock_guard lock(mu_);
        return std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) {
            return l.find(needle) != std::string::npos;
        });
    }

  private:
    mutable std::mutex mu_;
    std::vector<std::string> lines_;
};

// One whole message from a device; returns the reply to the final dot.
std::string send_message(Client& c, const std::string& from, const std::string& body) {
    if (c.reply().rfind("220 ", 0) != 0) return "no greeting";
    if (c.command("EHLO device").rfind("250", 0) != 0) return "EHLO refused";
    if (c.command("MAIL FROM:<" + from + ">").rfind("250", 0) != 0) return "MAIL refused";
    if (c.command("RCPT TO:<office@example.test>").rfind("250", 0) != 0) return "RCPT refused";
    if (c.command("DATA").rfind("354", 0) != 0) return "DATA refused";
    return c.command(body + "\r\n.");
}

// Two connections greeted, then a third one told the server is busy
// (returned for the caller to look at).
std::unique_ptr<Client> expect_third_busy(Client& first, Client& second, std::uint16_t port) {
    EXPECT_EQ(first.reply().rfind("220 ", 0), 0u);
    EXPECT_EQ(second.reply().rfind("220 ", 0), 0u);
    auto third = std::make_unique<Client>(port);
    EXPECT_EQ(third->reply().rfind("421 ", 0), 0u);
    return third;
}

TEST(RelayServerTest, DevicesSendingAtOnceAreEachSubmittedWithTheirOwnEnvelope) {
    RecordingBackend backend;
    auto server = started(options("127.0.0.0/8"), backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());

    constexpr int kDevices = 8;
    std::vector<std::string> replies(kDevices);
    std::vector<std::thread> devices;
    for (int i = 0; i < kDevices; ++i) {
        devices.emplace_back([&, i] {
            Client c(port);
            if (!c.connected()) return;
            const std::string n = std::to_string(i);
            replies[static_cast<std::size_t>(i)] = send_message(
                c, "device" + n + "@lan.example", "Subject: scan " + n + "\r\n\r\npage " + n);
            c.command("QUIT");
        });
    }
    for (auto& t : devices) t.join();

    for (const auto& r : replies) EXPECT_EQ(r.rfind("250 2.0.0 queued as ", 0), 0u) << r;
    const auto got = backend.submitted();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(kDevices));
    std::set<std::string> senders;
    for (const auto& s : got) {
        const std::string n = s.envelope.sender.substr(6, s.envelope.sender.find('@') - 6);
        EXPECT_EQ(s.message, "Subject: scan " + n + "\r\n\r\npage " + n + "\r\n");
        EXPECT_EQ(s.envelope.recipients, std::vector<std::string>{"office@example.test"});
        EXPECT_FALSE(s.envelope.user);
        EXPECT_EQ(s.client.rfind("127.0.0.1", 0), 0u) << s.client;
        senders.insert(s.envelope.sender);
    }
    EXPECT_EQ(senders.size(), static_cast<std::size_t>(kDevices));
}

TEST(RelayServerTest, LoginsAreCheckedByTheBackendAndOnlyALoggedInDeviceMaySend) {
    RecordingBackend backend;
    auto server = started(options(""), backend);  // no network may send without AUTH
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());

    std::string wrong, right, refused;
    std::thread bad([&] {
        Client c(port);
        c.reply();
        c.command("EHLO device");
        wrong = c.command("AUTH PLAIN " + base64_encode(std::string("\0scanner\0guess", 14)));
        refused = c.command("MAIL FROM:<device@lan.example>");
    });
    std::thread good([&] {
        Client c(port);
        c.reply();
        c.command("EHLO device");
        right = c.command("AUTH PLAIN " + base64_encode(std::string("\0scanner\0device-pass", 20)));
        if (right.rfind("235", 0) == 0) {
            c.command("MAIL FROM:<device@lan.example>");
            c.command("RCPT TO:<office@example.test>");
            c.command("DATA");
            c.command("Subject: hi\r\n\r\nbody\r\n.");
        }
    });
    bad.join();
    good.join();

    EXPECT_EQ(wrong.rfind("535 ", 0), 0u) << wrong;
    EXPECT_EQ(right.rfind("235 ", 0), 0u) << right;
    EXPECT_EQ(refused.rfind("530 ", 0), 0u) << refused;
    EXPECT_EQ(backend.logins(), 2);
    const auto got = backend.submitted();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].envelope.user, std::optional<std::string>("scanner"));
}

// Row "20 clients guessing relay passwords, one legitimate device beside
// them": login checks have threads of their own, so a device's message is
// made durable while every login thread is busy with a (held) guess.
TEST(RelayServerTest, IntakeNeverWaitsBehindLoginChecks) {
    RecordingBackend backend;
    auto o = options("127.0.0.1/32");
    o.workers = 2;
    o.login_workers = 2;
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());

    std::vector<std::thread> guessers;
    for (int i = 0; i < 2; ++i)
        guessers.emplace_back([port] {
            Client c(port);
            c.reply();
            c.command("EHLO guesser");
            c.command("AUTH PLAIN " + base64_encode(std::string("\0guesser\0guess", 14)));
        });
    backend.wait_held(2);
    Client device(port);
    EXPECT_EQ(send_message(device, "scanner@lan.example", "Subject: scan\r\n\r\npage")
                  .rfind("250 2.0.0 queued as ", 0),
              0u);
    backend.release();
    for (auto& t : guessers) t.join();
    EXPECT_EQ(backend.submitted().size(), 1u);
}

// Row "one byte per second on the relay ... 10 addresses hold all 100
// slots": clients that have not logged in have a cap of their own, so they
// cannot hold every slot; a connection that logs in leaves that count.
TEST(RelayServerTest, ConnectionsNotLoggedInHaveACapOfTheirOwn) {
    RecordingBackend backend;
    auto o = options("");  // everyone must log in
    o.max_unauthenticated_per_client = 2;
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());

    Client first(port), second(port);
    expect_third_busy(first, second, port);
    // The first logs in: its slot no longer counts as an anonymous one.
    first.command("EHLO device");
    EXPECT_EQ(
        first.command("AUTH PLAIN " + base64_encode(std::string("\0scanner\0device-pass", 20)))
            .rfind("235 ", 0),
        0u);
    first.command("NOOP");  // the count is updated before the next read
    Client fourth(port);
    EXPECT_EQ(fourth.reply().rfind("220 ", 0), 0u);
}

// Row "implicit-TLS connections: the handshake runs before the connection
// cap is checked": on the implicit-TLS port, a connection over its client's
// cap is closed before any handshake (a handshake costs the server more than
// the client). Before, it was handshaken first, and this one, which never
// starts a handshake, was held until the handshake timed out.
TEST(RelayServerTest, AnImplicitTlsConnectionOverTheCapIsClosedBeforeAHandshake) {
    const auto dir = test::fresh_dir("pb-relay-tls");
    std::filesystem::create_directories(dir);
    auto files = web::ensure_self_signed(dir, {});
    ASSERT_TRUE(files) << files.error().describe();
    RecordingBackend backend;
    auto o = options("");
    o.listen.clear();
    o.listen_tls = "127.0.0.1:0";
    o.cert = files->cert;
    o.key = files->key;
    o.max_connections_per_client = 1;
    LogLines log;
    o.log = log.sink();
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address_tls());

    Client first(port);  // holds the client's one slot, in its handshake
    ASSERT_TRUE(first.connected());
    Client second(port);
    ASSERT_TRUE(second.connected());
    EXPECT_EQ(second.reply(), "") << "a plain-text answer on the TLS port";
    EXPECT_EQ(log.count("refused a connection from 127.0.0.1: too many connections"), 1)
        << "closed by a handshake's end, not by the cap";
    server.reset();
    std::filesystem::remove_all(dir);
}

// bench/attack found it: attackers from more addresses than the per-address
// cap covers filled every slot for connections not logged in, and the
// device was told 421. A new connection now takes the slot of the oldest
// one from the address that holds the most.
TEST(RelayServerTest, ANewConnectionTakesTheSlotOfTheOldestNotLoggedIn) {
    RecordingBackend backend;
    auto o = options("");  // everyone must log in
    o.max_unauthenticated = 2;
    LogLines log;
    o.log = log.sink();
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());

    Client first(port), second(port);
    EXPECT_EQ(first.reply().rfind("220 ", 0), 0u);
    EXPECT_EQ(second.reply().rfind("220 ", 0), 0u);
    Client device(port);
    EXPECT_EQ(device.reply().rfind("220 ", 0), 0u) << "the new connection was refused";
    EXPECT_EQ(first.reply().rfind("421 4.7.0 ", 0), 0u) << "the oldest was not told";
    EXPECT_EQ(first.reply(), "") << "the oldest was not closed";
    device.command("EHLO device");
    EXPECT_EQ(
        device.command("AUTH PLAIN " + base64_encode(std::string("\0scanner\0device-pass", 20)))
            .rfind("235 ", 0),
        0u);
    EXPECT_EQ(second.command("NOOP").rfind("250 ", 0), 0u) << "the second was closed too";
    EXPECT_EQ(log.count("had not logged in, for a new one"), 1);
}

// serve's SIGHUP with a new relay.listen: new connections go to the new
// address, the old one refuses them, and a device connected before goes on.
TEST(RelayServerTest, ReconfigureMovesTheListenerWithoutDroppingAConnection) {
    RecordingBackend backend;
    const auto o = options("127.0.0.0/8");
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto old_port = port_of(*server->address());
    Client before(old_port);
    ASSERT_EQ(before.reply().rfind("220 ", 0), 0u);
    ASSERT_EQ(before.command("EHLO before").rfind("250", 0), 0u);

    auto next = o;
    next.listen = "127.0.0.2:0";
    ASSERT_TRUE(server->reconfigure(next).ok());
    const auto moved = *server->address();
    ASSERT_EQ(moved.rfind("127.0.0.2:", 0), 0u) << moved;

    EXPECT_FALSE(Client(old_port).connected()) << "the old address still accepts";
    Client after(port_of(moved), "127.0.0.2");
    EXPECT_EQ(send_message(after, "after@example.test", "Subject: after"),
              "250 2.0.0 queued as 1\r\n");
    EXPECT_EQ(before.command("MAIL FROM:<before@example.test>").rfind("250", 0), 0u);
    EXPECT_EQ(before.command("RCPT TO:<office@example.test>").rfind("250", 0), 0u);
    EXPECT_EQ(before.command("DATA").rfind("354", 0), 0u);
    EXPECT_EQ(before.command("Subject: before\r\n."), "250 2.0.0 queued as 2\r\n");
}

// An address that cannot be bound (taken by another program here) leaves the
// relay listening where it was, and says why.
TEST(RelayServerTest, AListenerThatCannotMoveKeepsListening) {
    RecordingBackend backend;
    const auto o = options("127.0.0.0/8");
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto where = *server->address();

    const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
    ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(taken, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(taken, reinterpret_cast<sockaddr*>(&a), &len);

    auto next = o;
    next.listen = "127.0.0.2:" + std::to_string(ntohs(a.sin_port));
    const auto r = server->reconfigure(next);
    ::close(taken);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().detail.find("relay.listen: cannot listen on 127.0.0.2:"), std::string::npos)
        << r.error().detail;
    EXPECT_EQ(*server->address(), where);
    Client still(port_of(where));
    EXPECT_EQ(still.reply().rfind("220 ", 0), 0u);

    next.listen = "printer.example.test:25";
    const auto bad = server->reconfigure(next);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, Errc::invalid_input);
    EXPECT_EQ(*server->address(), where);
}

// The limits of the new settings hold for the connections that come next.
TEST(RelayServerTest, ReconfigureAppliesNewLimitsToNewConnections) {
    RecordingBackend backend;
    const auto o = options("127.0.0.0/8");
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());
    Client first(port);
    ASSERT_EQ(first.reply().rfind("220 ", 0), 0u);

    auto next = o;
    next.max_connections_per_client = 1;
    ASSERT_TRUE(server->reconfigure(next).ok());
    Client second(port);
    EXPECT_EQ(second.reply().rfind("421 4.7.0 ", 0), 0u);
    EXPECT_EQ(first.command("NOOP").rfind("250", 0), 0u);
}

// serve's SIGTERM: the device in the middle of a message finishes it and
// gets its 250; the one waiting between transactions is told 421 at once;
// nobody new gets in; drain() returns once the last connection is gone.
TEST(RelayServerTest, DrainLetsTheMessageUnderWayEndAndClosesTheRest) {
    RecordingBackend backend;
    auto server = started(options("127.0.0.0/8"), backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());

    Client idle(port), busy(port);
    ASSERT_EQ(idle.reply().rfind("220 ", 0), 0u);
    ASSERT_EQ(idle.command("EHLO idle").rfind("250", 0), 0u);
    ASSERT_EQ(busy.reply().rfind("220 ", 0), 0u);
    ASSERT_EQ(busy.command("EHLO busy").rfind("250", 0), 0u);
    ASSERT_EQ(busy.command("MAIL FROM:<scanner@example.test>").rfind("250", 0), 0u);
    ASSERT_EQ(busy.command("RCPT TO:<office@example.test>").rfind("250", 0), 0u);
    ASSERT_EQ(busy.command("DATA").rfind("354", 0), 0u);
    busy.send("Subject: under way\r\n\r\nfirst half\r\n");

    std::thread drainer([&] { server->drain(std::chrono::steady_clock::now() + 30s); });
    EXPECT_EQ(idle.reply().rfind("421 4.3.2 ", 0), 0u) << "the idle client was not told";
    EXPECT_EQ(idle.reply(), "") << "the idle client was not closed";
    EXPECT_FALSE(Client(port).connected()) << "a new connection was accepted while draining";

    EXPECT_EQ(busy.command("second half\r\n.").rfind("250 ", 0), 0u);
    const std::string after = busy.reply();
    EXPECT_EQ(after.rfind("421 4.3.2 ", 0), 0u) << "not told after its message: " << after;
    drainer.join();  // returns with the last connection, long before 30 s
    const auto got = backend.submitted();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].message.find("first half\r\nsecond half"), std::string::npos);
}

// A transaction that does not end by the deadline does not hold serve's
// stop: drain() returns at the deadline and says so.
TEST(RelayServerTest, DrainReturnsAtItsDeadline) {
    RecordingBackend backend;
    auto o = options("127.0.0.0/8");
    LogLines log;
    o.log = log.sink();
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    Client stuck(port_of(*server->address()));
    ASSERT_EQ(stuck.reply().rfind("220 ", 0), 0u);
    ASSERT_EQ(stuck.command("EHLO stuck").rfind("250", 0), 0u);
    ASSERT_EQ(stuck.command("MAIL FROM:<scanner@example.test>").rfind("250", 0), 0u);

    server->drain(std::chrono::steady_clock::now() + 200ms);
    EXPECT_EQ(log.count("when the drain time ran out"), 1);
    server.reset();
    EXPECT_EQ(stuck.reply(), "");  // closed with the server
    EXPECT_TRUE(backend.submitted().empty());
}

TEST(RelayServerTest, AClientOverItsConnectionLimitIsToldBusyAndShutdownEndsTheRest) {
    RecordingBackend backend;
    auto o = options("127.0.0.0/8");
    o.max_connections_per_client = 2;
    auto server = started(o, backend);
    ASSERT_TRUE(server);
    const auto port = port_of(*server->address());

    Client first(port), second(port);
    const auto third = expect_third_busy(first, second, port);
    EXPECT_EQ(third->reply(), "");  // and closed

    // Stopping the server with two devices connected ends both connections
    // (each sees the connection close) and joins every thread.
    std::thread stop([&] { server.reset(); });
    stop.join();
    const std::string after_first = first.reply();
    const std::string after_second = second.reply();
    EXPECT_TRUE(after_first.empty() || after_first.rfind("421 ", 0) == 0) << after_first;
    EXPECT_TRUE(after_second.empty() || after_second.rfind("421 ", 0) == 0) << after_second;
    EXPECT_TRUE(backend.submitted().empty());
}

}  // namespace
}  // namespace pb::relay
