// Delivery status notifications (RFC 3464) for relayed mail that failed
// for good: the report itself, and the reporter on a real spool.
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

// The reporter as the outbox installs it, on a real spool: the report is
// made by the transaction that records the failure.
class DsnReporterTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-dsn");
        fs::create_directories(dir_);
        service::OutboxOptions options;
        options.log = [this](std::string_view l) { log_ += std::string(l) + "\n"; };
        auto o = service::Outbox::open(dir_, clock_, rng_, std::move(options));
        ASSERT_TRUE(o.ok()) << o.error().describe();
        outbox_ = std::move(*o);
        ASSERT_TRUE(outbox_->store().set_values({{"email.sender", "scanner@example.test"}}).ok());
        ASSERT_TRUE(outbox_->reload().ok());
    }
    void TearDown() override {
        outbox_.reset();
        fs::remove_all(dir_);
    }
    spool::JobId relay_job() {
        spool::Submission sub;
        sub.function = spool::Function::relay;
        sub.sender = "scanner@example.test";
        sub.return_path = "copier@lan.example";  // sender_policy=rewrite replaced it
        sub.recipients = {"gone@example.com"};
        sub.subject = "scan";
        StringSource body("Subject: scan\r\n\r\nb\r\n");
        auto acc = outbox_->intake().submit(sub, body);
        EXPECT_TRUE(acc.ok());
        return acc->id;
    }
    // One attempt at `id` refused for good by the server.
    void fail_for_good(spool::JobId id) {
        auto jobs = outbox_->spool().claim("email", 1, id);
        ASSERT_TRUE(jobs.ok() && jobs->size() == 1);
        spool::Attempt a;
        a.state = spool::JobState::failed;
        a.error = Error{Errc::recipient_rejected, "refused"};
        spool::Recipient r = jobs->front().recipients.front();
        r.result = spool::RecipientResult::rejected;
        r.code = Errc::recipient_rejected;
        r.reply = "550 5.1.1 no such user";
        a.recipients = {r};
        ASSERT_TRUE(outbox_->spool().finish_attempt(id, a).ok());
    }
    std::vector<spool::Job> notifications() {
        std::vector<spool::Job> out;
        auto jobs = outbox_->spool().jobs(100);
        EXPECT_TRUE(jobs.ok());
        for (auto& j : *jobs)
            if (j.function == spool::Function::notification) out.push_back(j);
        return out;
    }
    bool reported(spool::JobId id) {
        auto j = outbox_->spool().job(id);
        return j.ok() && *j && (*j)->reported;
    }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    std::unique_ptr<service::Outbox> outbox_;
    std::string log_;
};

TEST_F(DsnReporterTest, AFailureIsReportedToTheOriginalSenderByTheSameCommit) {
    const auto id = relay_job();
    EXPECT_TRUE(notifications().empty());
    fail_for_good(id);
    // No poller in between: the report is there as soon as the failure is.
    auto n = notifications();
    ASSERT_EQ(n.size(), 1U);
    EXPECT_TRUE(reported(id));
    ASSERT_EQ(n[0].recipients.size(), 1U);
    EXPECT_EQ(n[0].recipients[0].address, "copier@lan.example");
    EXPECT_EQ(n[0].sender, "scanner@example.test");
    EXPECT_EQ(n[0].state, spool::JobState::queued);
    EXPECT_NE(log_.find("job " + std::to_string(id) +
                        " failed; a delivery report goes to copier@lan.example"),
              std::string::npos)
        << log_;
    // Its message is the report, on disk like any accepted message.
    auto reader = outbox_->spool().open_message(n[0]);
    ASSERT_TRUE(reader.ok()) << reader.error().describe();
}

TEST_F(DsnReporterTest, AJobRetriedByHandThatFailsAgainIsNotReportedTwice) {
    const auto id = relay_job();
    fail_for_good(id);
    ASSERT_TRUE(outbox_->spool().retry(id).ok());
    fail_for_good(id);
    EXPECT_EQ(notifications().size(), 1U);
}

TEST_F(DsnReporterTest, NoReportForSentJobsNorForNotifications) {
    const auto id = relay_job();
    auto jobs = outbox_->spool().claim("email", 1, id);
    ASSERT_TRUE(jobs.ok() && jobs->size() == 1);
    spool::Attempt a;
    a.state = spool::JobState::sent;
    a.recipients = jobs->front().recipients;
    a.recipients[0].result = spool::RecipientResult::accepted;
    ASSERT_TRUE(outbox_->spool().finish_attempt(id, a).ok());
    EXPECT_TRUE(notifications().empty());
    EXPECT_FALSE(reported(id));

    // The report itself fails: it is a notification, never reported on.
    const auto other = relay_job();
    fail_for_good(other);
    auto n = notifications();
    ASSERT_EQ(n.size(), 1U);
    fail_for_good(n[0].id);
    EXPECT_EQ(notifications().size(), 1U);
}

TEST_F(DsnReporterTest, NothingWhenTurnedOff) {
    ASSERT_TRUE(outbox_->store().set_values({{"relay.dsn", "false"}}).ok());
    ASSERT_TRUE(outbox_->reload().ok());
    const auto id = relay_job();
    fail_for_good(id);
    EXPECT_TRUE(notifications().empty());
    EXPECT_FALSE(reported(id));
}

TEST_F(DsnReporterTest, NothingWithoutASenderForTheReportAndTheLogSaysWhy) {
    ASSERT_TRUE(outbox_->store().set_values({{"email.sender", std::nullopt}}).ok());
    ASSERT_TRUE(outbox_->reload().ok());
    const auto id = relay_job();
    fail_for_good(id);
    EXPECT_TRUE(notifications().empty());
    EXPECT_NE(log_.find("email.sender is not set"), std::string::npos) << log_;
}

}  // namespace
}  // namespace pb::relay
