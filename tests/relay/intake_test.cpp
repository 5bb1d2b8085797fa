// From a received message to a durable relay job, on a real state
// directory: sender_policy rewrite and keep, and the words of the reply.
#include "relay/intake.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>

#include "service/outbox.hpp"
#include "support/drain.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"

namespace pb::relay {
namespace {

namespace fs = std::filesystem;

class IntakeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-intake");
        fs::create_directories(dir_);
        auto o = service::Outbox::open(dir_, clock_, rng_);
        ASSERT_TRUE(o.ok()) << o.error().describe();
        outbox_ = std::move(*o);
        set("email.sender", "scanner@example.test");
        intake_ =
            std::make_unique<Intake>(outbox_->intake(), [this](std::string_view l) { log_ += l; });
    }
    void TearDown() override {
        intake_.reset();
        outbox_.reset();
        fs::remove_all(dir_);
    }
    void set(const std::string& key, const std::string& value) {
        ASSERT_TRUE(outbox_->store().set_values({{key, value}}).ok()) << key;
        ASSERT_TRUE(outbox_->reload().ok());
    }
    // The job and its message as it is sent, without the Received: header
    // the relay puts first (checked on its own below).
    std::pair<spool::Job, std::string> only_job() {
        auto [job, text] = only_job_as_sent();
        EXPECT_TRUE(text.starts_with("Received: from ")) << text;
        std::size_t end = 0;  // past the header's last line: the next without leading white space
        do end = text.find("\r\n", end) + 2;
        while (end > 1 && end < text.size() && (text[end] == '\t' || text[end] == ' '));
        return {job, end > 1 ? text.substr(end) : text};
    }
    std::pair<spool::Job, std::string> only_job_as_sent() {
        auto jobs = outbox_->spool().claim("email", 10);
        EXPECT_TRUE(jobs.ok());
        if (!jobs.ok() || jobs->size() != 1) {
            ADD_FAILURE() << "expected one job";
            return {};
        }
        auto reader = outbox_->spool().open_message(jobs->front());
        EXPECT_TRUE(reader.ok());
        return {jobs->front(), reader.ok() ? test::drain(**reader) : ""};
    }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    std::unique_ptr<service::Outbox> outbox_;
    std::unique_ptr<Intake> intake_;
    std::string log_;
};

Arrival from(std::string client) {
    return Arrival{std::move(client), std::nullopt, "relay.lan"};
}

Envelope envelope(std::string sender) {
    Envelope e;
    e.sender = std::move(sender);
    e.recipients = {"a@example.com", "b@example.com"};
    e.user = "copier";
    e.helo = "copier.lan";
    return e;
}

TEST_F(IntakeTest, RewriteSetsSenderAndFromAndKeepsTheOriginal) {
    StringSource msg(
        "From: Copier 3F <copier@lan.example>\r\nTo: ,,broken<\r\nSubject: scan 7\r\n"
        "\r\nbody\r\n");
    const std::string reply =
        intake_->submit(envelope("copier@lan.example"), from("10.0.0.7"), msg);
    ASSERT_TRUE(reply.starts_with("250 2.0.0 Ok: queued as ")) << reply;
    auto [job, text] = only_job();
    EXPECT_EQ(job.function, spool::Function::relay);
    EXPECT_EQ(job.sender, "scanner@example.test");
    EXPECT_EQ(job.subject, "scan 7");
    ASSERT_EQ(job.recipients.size(), 2U);
    EXPECT_TRUE(
        text.starts_with("From: Copier 3F <scanner@example.test>\r\n"
                         "Reply-To: Copier 3F <copier@lan.example>\r\n"
                         "To: ,,broken<\r\n"))
        << text;
    EXPECT_TRUE(text.ends_with("\r\n\r\nbody\r\n")) << text;
    EXPECT_EQ(job.return_path, "copier@lan.example");  // kept in the job for its report
    EXPECT_NE(log_.find("accepted from 10.0.0.7 (copier)"), std::string::npos) << log_;
}

TEST_F(IntakeTest, KeepLeavesSenderAndFrom) {
    set("relay.sender_policy", "keep");
    const std::string in =
        "From: copier@lan.example\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        "Message-ID: <a@b>\r\n\r\nbody\r\n";
    StringSource msg(in);
    ASSERT_TRUE(
        intake_->submit(envelope("copier@lan.example"), from("10.0.0.8"), msg).starts_with("250 "));
    auto [job, text] = only_job();
    EXPECT_EQ(job.sender, "copier@lan.example");
    EXPECT_EQ(text, in);
    EXPECT_EQ(job.return_path, "");
}

TEST_F(IntakeTest, MissingHeadersAreAdded) {
    StringSource msg("just a body line\r\n");
    ASSERT_TRUE(
        intake_->submit(envelope("copier@lan.example"), from("10.0.0.8"), msg).starts_with("250 "));
    auto [job, text] = only_job();
    EXPECT_TRUE(text.starts_with("From: scanner@example.test\r\nDate: ")) << text;
    EXPECT_NE(text.find("Message-ID: <"), std::string::npos) << text;
}

TEST_F(IntakeTest, HeaderTooLargeIsRefusedFor554) {
    std::string big = "X-Big: ";
    big += std::string(1100 * 1024, 'a');
    big += "\r\n\r\nb\r\n";
    StringSource msg(big);
    const std::string reply =
        intake_->submit(envelope("copier@lan.example"), from("10.0.0.8"), msg);
    EXPECT_TRUE(reply.starts_with("554 5.6.0 Message refused: ")) << reply;
    auto jobs = outbox_->spool().jobs(10);
    ASSERT_TRUE(jobs.ok());
    EXPECT_TRUE(jobs->empty());
}

TEST_F(IntakeTest, HeldWhenTheProfileIsNotSignedIn) {
    set("email.auth_method", "oauth2");
    StringSource msg("Subject: s\r\n\r\nb\r\n");
    const std::string reply =
        intake_->submit(envelope("copier@lan.example"), from("10.0.0.8"), msg);
    EXPECT_TRUE(reply.starts_with("250 2.0.0 Ok: queued as ")) << reply;
    EXPECT_NE(reply.find("held until the relay's account is signed in"), std::string::npos);
    auto jobs = outbox_->spool().jobs(10);
    ASSERT_TRUE(jobs.ok());
    ASSERT_EQ(jobs->size(), 1U);
    EXPECT_EQ(jobs->front().state, spool::JobState::held);
}

// Hostile-LAN table, row "relayed message": no Received: header (RFC 5321
// 4.4 says every relay MUST add one). It names the job the 250 named.
TEST_F(IntakeTest, TheMessageGoesOutWithAReceivedHeaderNamingItsJob) {
    clock_.set(TimePoint{std::chrono::seconds{1796601600}});  // 2026-12-07 00:00:00 UTC
    Envelope env = envelope("copier@lan.example");
    env.recipients = {"a@example.com"};
    StringSource msg("Subject: s\r\n\r\nb\r\n");
    const std::string reply = intake_->submit(
        env, Arrival{"10.0.0.7", "TLSv1.3 with cipher X (256/256 bits)", "relay.lan"}, msg);
    ASSERT_TRUE(reply.starts_with("250 2.0.0 Ok: queued as ")) << reply;
    auto [job, text] = only_job_as_sent();
    EXPECT_EQ(reply, "250 2.0.0 Ok: queued as " + std::to_string(job.id));
    const std::string received =
        "Received: from copier.lan (unknown [10.0.0.7])\r\n"
        "\t(using TLSv1.3 with cipher X (256/256 bits))\r\n"
        "\t(Authenticated sender: copier)\r\n"
        "\tby relay.lan (postbridge) with ESMTPSA id " +
        std::to_string(job.id) +
        "\r\n"
        "\tfor <a@example.com>; Mon, 07 Dec 2026 00:00:00 +0000\r\n";
    EXPECT_TRUE(text.starts_with(received + "Subject: s\r\nFrom: scanner@example.test\r\n"))
        << text;
    // The history's size is the message's; the size sent (SIZE=) has both.
    auto reader = outbox_->spool().open_message(job);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ((*reader)->size_hint(), text.size());
    EXPECT_EQ(job.size + received.size(), text.size());
}

// The reply to a message that could not be kept: the device is told to try
// again, and for a full disk in RFC 5321's and RFC 3463's words for it.
TEST(RelayReply, AFullDiskIs452AndAnyOtherSpoolFailure451) {
    EXPECT_EQ(reply_for(fail(Errc::spool_unwritable, "cannot write a spool file", ENOSPC)),
              "452 4.3.1 Not enough storage for the message now; try again later");
    EXPECT_EQ(reply_for(fail(Errc::spool_unwritable, "over quota", EDQUOT)).substr(0, 9),
              "452 4.3.1");
    EXPECT_EQ(reply_for(fail(Errc::spool_unwritable, "read-only", EROFS)),
              "451 4.3.0 Could not store the message now; try again later");
    EXPECT_EQ(reply_for(fail(Errc::spool_unwritable, "database is locked")).substr(0, 9),
              "451 4.3.0");
    EXPECT_EQ(reply_for(fail(Errc::sign_in_again, "")).substr(0, 9), "451 4.7.0");
    EXPECT_EQ(reply_for(fail(Errc::invalid_input, "no From")),
              "554 5.6.0 Message refused: no From");
}

}  // namespace
}  // namespace pb::relay
