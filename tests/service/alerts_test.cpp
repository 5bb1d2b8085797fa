// The administrator's alerts on a real outbox and store, with a manual clock:
// a condition is mailed once a day at most (also from a second instance on
// the same state), a note goes when it clears, and with no profile able to
// send nothing is marked as mailed.
#include "service/alerts.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "service/tokens.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"

namespace pb::service {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class AlertsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-alerts");
        fs::create_directories(dir_);
        outbox_ = open();
        ASSERT_TRUE(outbox_->store()
                        .set_values({{"email.auth_method", "oauth2"},
                                     {"email.service", "custom"},
                                     {"email.oauth.issuer", "https://id.example.test"},
                                     {"email.oauth.client_id", "postbridge"},
                                     {"email.smtp.host", "127.0.0.1"},
                                     {"email.sender", "scanner@example.test"},
                                     {"email.oauth.inactivity_limit", "90d"},
                                     {"notify.email", "it@example.test"},
                                     // The alert mails themselves wait in the queue here:
                                     // not an alert of their own.
                                     {"notify.queue_age", "30d"}})
                        .ok());
        ASSERT_TRUE(outbox_->reload().ok());
    }
    void TearDown() override {
        outbox_.reset();
        fs::remove_all(dir_);
    }
    std::unique_ptr<Outbox> open() {
        OutboxOptions o;
        o.log = [this](std::string_view l) { log_ += std::string(l) + "\n"; };
        auto r = Outbox::open(dir_, clock_, rng_, std::move(o));
        EXPECT_TRUE(r.ok()) << r.error().describe();
        return r ? std::move(*r) : nullptr;
    }
    // A sign-in last refreshed `ago`: with the 90-day limit, 80 days ago
    // lapses within 14 days.
    void signed_in(Duration ago) {
        oauth::TokenSet t;
        t.service = "custom";
        t.account = "scanner@example.test";
        t.access_token = Secret("access");
        t.access_expires_at = clock_.now() + 1h;
        t.refresh_token = Secret("refresh");
        t.signed_in_at = clock_.now() - ago;
        t.last_refresh = clock_.now() - ago;
        ASSERT_TRUE(SealedTokenStore(outbox_->store()).save("email", t).ok());
    }
    // Alert mails in the spool, oldest first: their subjects.
    std::vector<std::string> mails() {
        std::vector<std::string> out;
        auto jobs = outbox_->spool().jobs(100);
        EXPECT_TRUE(jobs.ok());
        for (auto it = jobs->rbegin(); it != jobs->rend(); ++it)
            if (it->function == spool::Function::notification) out.push_back(it->subject);
        return out;
    }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    std::unique_ptr<Outbox> outbox_;
    std::string log_;
};

TEST_F(AlertsTest, ALapsingSignInIsMailedOnceADayAndItsClearingOnce) {
    signed_in(80 * 24h);
    Alerts alerts(*outbox_, clock_, [this](std::string_view l) { log_ += std::string(l) + "\n"; });
    const auto now = alerts.conditions();
    ASSERT_EQ(now.size(), 1U) << log_;
    EXPECT_EQ(now[0].key, "signin-lapse:email");

    EXPECT_EQ(alerts.check(), 1U) << log_;
    EXPECT_EQ(alerts.check(), 0U);
    clock_.advance(23h);
    EXPECT_EQ(alerts.check(), 0U);
    // The passes that send nothing say so once, not each time.
    const std::string still = "alert: signin-lapse:email still holds";
    ASSERT_NE(log_.find(still), std::string::npos) << log_;
    EXPECT_EQ(log_.find(still), log_.rfind(still)) << log_;
    // Another instance on the same state does not mail it again either.
    auto other = open();
    Alerts second(*other, clock_, [](std::string_view) {});
    EXPECT_EQ(second.check(), 0U);
    clock_.advance(1h);
    EXPECT_EQ(alerts.check(), 1U);
    auto got = mails();
    ASSERT_EQ(got.size(), 2U);
    EXPECT_TRUE(got[0].starts_with("postbridge: the sign-in of email lapses on")) << got[0];

    // A new sign-in (or a keep-alive that works) clears it: one note.
    signed_in(0h);
    EXPECT_TRUE(alerts.conditions().empty());
    EXPECT_EQ(alerts.check(), 1U);
    EXPECT_EQ(alerts.check(), 0U);
    got = mails();
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(got[2], "postbridge: cleared: signin-lapse:email");
    auto left = outbox_->store().alerts();
    ASSERT_TRUE(left.ok());
    EXPECT_TRUE(left->empty());
}

TEST_F(AlertsTest, NothingIsMarkedMailedWhileNoProfileCanSend) {
    // Revoked: the profile cannot send, and there is no other.
    oauth::TokenSet t;
    t.state = oauth::SignInState::reauth_required;
    t.state_reason = "the grant was revoked";
    t.service = "custom";
    ASSERT_TRUE(SealedTokenStore(outbox_->store()).save("email", t).ok());
    spool::Submission sub;
    sub.recipients = {"bob@example.test"};
    sub.sender = "scanner@example.test";
    sub.held = Errc::sign_in_again;
    StringSource body("Subject: s\r\n\r\nb\r\n");
    ASSERT_TRUE(outbox_->spool().accept(sub, body).ok());

    Alerts alerts(*outbox_, clock_, [](std::string_view) {});
    auto now = alerts.conditions();
    ASSERT_EQ(now.size(), 1U);
    EXPECT_EQ(now[0].key, "held:email");
    EXPECT_NE(now[0].text.find("code 370"), std::string::npos) << now[0].text;
    EXPECT_NE(now[0].text.find("the grant was revoked"), std::string::npos) << now[0].text;
    EXPECT_EQ(alerts.check(), 0U);
    EXPECT_TRUE(mails().empty());
    auto stored = outbox_->store().alerts();
    ASSERT_TRUE(stored.ok());
    ASSERT_EQ(stored->size(), 1U);  // on record, for the page and the next pass
    EXPECT_FALSE(stored->front().mailed_at);
}

TEST_F(AlertsTest, AQueueOlderThanTheSettingIsAlerted) {
    signed_in(0h);
    ASSERT_TRUE(outbox_->store().set_values({{"notify.queue_age", "30m"}}).ok());
    ASSERT_TRUE(outbox_->reload().ok());
    spool::Submission sub;
    sub.recipients = {"bob@example.test"};
    sub.sender = "scanner@example.test";
    StringSource body("Subject: s\r\n\r\nb\r\n");
    ASSERT_TRUE(outbox_->spool().accept(sub, body).ok());
    Alerts alerts(*outbox_, clock_, [](std::string_view) {});
    EXPECT_TRUE(alerts.conditions().empty());
    clock_.advance(31min);
    auto now = alerts.conditions();
    ASSERT_EQ(now.size(), 1U);
    EXPECT_EQ(now[0].key, "queue-age:email");
    EXPECT_EQ(now[0].summary, "mail of email has waited 31 minutes");
}

}  // namespace
}  // namespace pb::service
