// Connection reuse against the real smtp-server: a queue larger than one
// batch goes out over one connection per worker, as the server itself sees
// it (the session id it writes beside each message in its maildir).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/clock.hpp"
#include "mime/message.hpp"
#include "service/outbox.hpp"
#include "support/peers.hpp"

namespace pb {
namespace {

namespace fs = std::filesystem;

class ReusePeersTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const auto& peers = test::Peers::get();
        ASSERT_TRUE(peers.available()) << "needs the peers fixture";
        state_ = fs::temp_directory_path() / ("pb-reuse-" + std::to_string(::getpid()));
        fs::remove_all(state_);
        auto box = service::Outbox::open(state_, clock_, rng_);
        ASSERT_TRUE(box) << box.error().describe();
        box_ = std::move(*box);
        ASSERT_TRUE(box_->store().import_ca(peers.at("PB_TEST_CA")));
    }
    void TearDown() override {
        box_.reset();
        fs::remove_all(state_);
    }

    void configure(const std::string& concurrency) {
        const auto& peers = test::Peers::get();
        auto r = box_->store().set_values({{"email.auth_method", "smtp-auth"},
                                           {"email.smtp.host", "127.0.0.1"},
                                           {"email.smtp.port", peers.at("PB_SMTP_PORT")},
                                           {"email.smtp.security", "starttls"},
                                           {"email.sender", "device@example.test"},
                                           {"email.account", "device"},
                                           {"email.password", "device-pass"},
                                           {"email.delivery.rate_limit", "0"},
                                           {"email.delivery.concurrency", concurrency}});
        ASSERT_TRUE(r) << r.error().describe();
        ASSERT_TRUE(box_->reload());
    }

    void submit(const std::string& tag, int n) {
        for (int i = 0; i < n; ++i) {
            mime::Draft d;
            d.from = "device@example.test";
            d.to = {"bob@example.test"};
            d.subject = tag + " " + std::to_string(i);
            d.text = "reuse\n";
            auto msg = mime::build_message(std::move(d), clock_, rng_);
            ASSERT_TRUE(msg) << msg.error().describe();
            spool::Submission sub{spool::Function::notification, "email", (*msg)->envelope().sender,
                                  (*msg)->envelope().recipients, tag,     std::nullopt};
            ASSERT_TRUE(box_->intake().submit(sub, **msg));
        }
    }

    // The server's session ids of the messages carrying `tag`, with counts.
    static std::map<std::string, int> sessions_of(const std::string& tag) {
        std::map<std::string, int> sessions;
        const fs::path dir = fs::path(test::Peers::get().at("PB_MAILDIR")) / "new";
        for (const auto& e : fs::directory_iterator(dir)) {
            const std::string name = e.path().filename().string();
            if (name.ends_with(".envelope.json")) continue;
            // The headers are enough; the maildir holds other tests' scans.
            std::ifstream in(e.path(), std::ios::binary);
            std::string text(8192, '\0');
            in.read(text.data(), static_cast<std::streamsize>(text.size()));
            text.resize(static_cast<std::size_t>(in.gcount()));
            if (text.find("Subject: " + tag + " ") == std::string::npos) continue;
            std::ifstream side(dir / (name + ".envelope.json"));
            auto j = nlohmann::json::parse(side, nullptr, false);
            ++sessions[j.is_object() ? j.value("sessionId", "?") : "?"];
        }
        return sessions;
    }

    std::string tag(const std::string& what) {
        return what + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    }

    SystemClock clock_;
    SystemRandom rng_;
    fs::path state_;
    std::unique_ptr<service::Outbox> box_;
};

TEST_F(ReusePeersTest, AQueueOfThreeBatchesGoesOverOneConnection) {
    configure("1");
    const std::string t = tag("one-connection");
    submit(t, 120);  // the engine takes 50 a batch
    EXPECT_EQ(box_->engine().flush(), 120u);
    const auto sessions = sessions_of(t);
    ASSERT_EQ(sessions.size(), 1u) << "connections used: " << sessions.size();
    EXPECT_EQ(sessions.begin()->second, 120);
    EXPECT_NE(sessions.begin()->first, "?");
}

TEST_F(ReusePeersTest, ThreeWorkersUseAtMostThreeConnections) {
    configure("3");
    const std::string t = tag("three-connections");
    submit(t, 200);
    EXPECT_EQ(box_->engine().flush(), 200u);
    const auto sessions = sessions_of(t);
    int total = 0;
    for (const auto& [id, n] : sessions) total += n;
    EXPECT_EQ(total, 200);
    EXPECT_GE(sessions.size(), 1u);
    EXPECT_LE(sessions.size(), 3u);
}

}  // namespace
}  // namespace pb
