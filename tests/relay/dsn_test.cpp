// Delivery status notifications (RFC 3464) for relayed mail that failed
// for good: the report itself, and the notifier on a real job history.
#include "relay/dsn.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "service/outbox.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"

namespace pb::relay {
namespace {

namespace fs = std::filesystem;

spool::Job failed_job() {
    spool::Job j;
    j.id = 42;
    j.function = spool::Function::relay;
    j.state = spool::JobState::partial;
    j.subject = "scan\r\nBcc: injected@evil.example";
    j.recipients = {
        {0, "ok@example.com", spool::RecipientResult::accepted, std::nullopt, "250 ok"},
        {1, "gone@example.com", spool::RecipientResult::rejected, Errc::recipient_rejected,
         "550 5.1.1 <gone@example.com>: no such user"},
        {2, "odd@example.com", spool::RecipientResult::rejected, Errc::recipient_rejected,
         "554 rejected"},
    };
    return j;
}

TEST(RelayDsn, ReportListsTheFailedRecipientsOnly) {
    const spool::Job job = failed_job();
    test::CountingRandom rng;
    const std::string m = build_dsn(
        {job, "copier@lan.example", "scanner@example.test", "relay.test", TimePoint{}}, rng);
    EXPECT_NE(m.find("Content-Type: multipart/report; report-type=delivery-status;"),
              std::string::npos);
    EXPECT_NE(m.find("To: <copier@lan.example>\r\n"), std::string::npos);
    EXPECT_NE(m.find("Auto-Submitted: auto-replied\r\n"), std::string::npos);
    EXPECT_NE(
        m.find("Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.test\r\n"),
        std::string::npos)
        << m;
    EXPECT_NE(m.find("Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\n"
                     "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: no "
                     "such user\r\n"),
              std::string::npos)
        << m;
    EXPECT_NE(
        m.find("Final-Recipient: rfc822; odd@example.com\r\nAction: failed\r\nStatus: 5.0.0\r\n"),
        std::string::npos)
        << m;
    EXPECT_EQ(m.find("Final-Recipient: rfc822; ok@example.com"), std::string::npos);
    // A subject with a line break cannot add a header.
    EXPECT_EQ(m.find("\r\nBcc:"), std::string::npos) << m;
    // Every line ends in CRLF.
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\n') {
            ASSERT_EQ(m[i - 1], '\r') << i;
        }
    }
}

TEST(RelayDsn, WhichJobsNeedOne) {
    spool::Job j = failed_job();
    EXPECT_TRUE(needs_dsn(j));
    j.function = spool::Function::notification;  // a report about a report: never
    EXPECT_FALSE(needs_dsn(j));
    j = failed_job();
    j.state = spool::JobState::sent;
    EXPECT_FALSE(needs_dsn(j));
    j = failed_job();
    j.state = spool::JobState::failed;
    j.recipients = {{0, "x@example.com", spool::RecipientResult::pending, Errc::gave_up, ""}};
    EXPECT_TRUE(needs_dsn(j));  // gave up after delivery.max_age
}

class DsnNotifierTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-dsn");
        fs::create_directories(dir_);
        auto o = service::Outbox::open(dir_, clock_, rng_);
        ASSERT_TRUE(o.ok()) << o.error().describe();
        outbox_ = std::move(*o);
        ASSERT_TRUE(outbox_->store().set_values({{"email.sender", "scanner@example.test"}}).ok());
        ASSERT_TRUE(outbox_->reload().ok());
        notifier_ = std::make_unique<DsnNotifier>(
            outbox_->intake(), outbox_->spool(), dir_ / "relay" / "dsn-reported", "relay.test",
            clock_, rng_, [this](std::string_view l) { log_ += std::string(l) + "\n"; });
    }
    void TearDown() override {
        notifier_.reset();
        outbox_.reset();
        fs::remove_all(dir_);
    }
    // A relay job refused for good by the server.
    spool::JobId failed_relay_job() {
        spool::Submission sub;
        sub.function = spool::Function::relay;
        sub.sender = "scanner@example.test";
        sub.return_path = "copier@lan.example";  // sender_policy=rewrite replaced it
        sub.recipients = {"gone@example.com"};
        sub.subject = "scan";
        StringSource body("Subject: scan\r\n\r\nb\r\n");
        auto acc = outbox_->intake().submit(sub, body);
        EXPECT_TRUE(acc.ok());
        auto jobs = outbox_->spool().claim("email", 1, acc->id);
        EXPECT_TRUE(jobs.ok() && jobs->size() == 1);
        spool::Attempt a;
        a.state = spool::JobState::failed;
        a.error = Error{Errc::recipient_rejected, "refused"};
        spool::Recipient r = jobs->front().recipients.front();
        r.result = spool::RecipientResult::rejected;
        r.code = Errc::recipient_rejected;
        r.reply = "550 5.1.1 no such user";
        a.recipients = {r};
        EXPECT_TRUE(outbox_->spool().finish_attempt(acc->id, a).ok());
        return acc->id;
    }
    std::vector<spool::Job> notifications() {
        std::vector<spool::Job> out;
        auto jobs = outbox_->spool().jobs(100);
        EXPECT_TRUE(jobs.ok());
        for (auto& j : *jobs)
            if (j.function == spool::Function::notification) out.push_back(j);
        return out;
    }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    std::unique_ptr<service::Outbox> outbox_;
    std::unique_ptr<DsnNotifier> notifier_;
    std::string log_;
};

TEST_F(DsnNotifierTest, OldFailuresAreNotReportedAtFirstStart) {
    failed_relay_job();
    EXPECT_EQ(notifier_->scan(), 0U);
    EXPECT_EQ(notifier_->scan(), 0U);
    EXPECT_TRUE(notifications().empty());
}

TEST_F(DsnNotifierTest, ANewFailureIsReportedOnceToTheOriginalSender) {
    EXPECT_EQ(notifier_->scan(), 0U);
    const auto id = failed_relay_job();
    EXPECT_EQ(notifier_->scan(), 1U) << log_;
    EXPECT_EQ(notifier_->scan(), 0U);
    auto n = notifications();
    ASSERT_EQ(n.size(), 1U);
    ASSERT_EQ(n[0].recipients.size(), 1U);
    EXPECT_EQ(n[0].recipients[0].address, "copier@lan.example");
    EXPECT_EQ(n[0].sender, "scanner@example.test");
    EXPECT_NE(
        log_.find("job " + std::to_string(id) + " failed; delivery report to copier@lan.example"),
        std::string::npos)
        << log_;

    // A new notifier (serve restarted) remembers what was reported.
    DsnNotifier again(outbox_->intake(), outbox_->spool(), dir_ / "relay" / "dsn-reported",
                      "relay.test", clock_, rng_, [](std::string_view) {});
    EXPECT_EQ(again.scan(), 0U);
}

TEST_F(DsnNotifierTest, NothingWhenTurnedOff) {
    ASSERT_TRUE(outbox_->store().set_values({{"relay.dsn", "false"}}).ok());
    ASSERT_TRUE(outbox_->reload().ok());
    EXPECT_EQ(notifier_->scan(), 0U);
    failed_relay_job();
    EXPECT_EQ(notifier_->scan(), 0U);
    EXPECT_TRUE(notifications().empty());
}

}  // namespace
}  // namespace pb::relay
