// Intake on its own: a real spool, and the profiles' answers from a stub,
// so each way in (compose, sendmail, relayed, submit) and the hold-or-refuse
// decision are seen without an outbox, a runtime or a transport.
#include "intake/intake.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "spool/file_ops.hpp"
#include "storage/backends.hpp"
#include "store/store.hpp"
#include "support/drain.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"

namespace pb::intake {
namespace {

namespace fs = std::filesystem;

class StubProfiles final : public Profiles {
  public:
    std::shared_ptr<const settings::Config> config() override {
        return std::make_shared<const settings::Config>(settings);
    }
    Result<void> check_profile(std::string_view profile) override {
        if (profile == "email" || profile == "fax") return {};
        return fail(Errc::invalid_input, "no profile " + std::string(profile));
    }
    std::optional<Errc> sign_in_problem(const std::string&) override { return problem; }

    settings::Settings settings;
    std::optional<Errc> problem;
};

class IntakeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-intake-core");
        auto st =
            storage::open_store(dir_, rng_, clock_, {.key_base64 = std::string(43, 'A') + "="});
        ASSERT_TRUE(st.ok()) << st.error().detail;
        store_ = std::move(*st);
        auto sp = storage::open_spool(dir_, ops_, clock_, rng_);
        ASSERT_TRUE(sp.ok());
        spool_ = std::move(*sp);
        profiles_.settings.values()["email.sender"] = "scanner@example.test";
        intake_ = std::make_unique<Intake>(*spool_, profiles_, clock_, rng_);
    }
    void TearDown() override {
        intake_.reset();
        spool_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }
    spool::Job job(spool::JobId id) {
        auto j = spool_->job(id);
        EXPECT_TRUE(j.ok() && j->has_value());
        return j.ok() && j->has_value() ? **j : spool::Job{};
    }
    std::string message(spool::JobId id) {
        auto reader = spool_->open_message(job(id));
        EXPECT_TRUE(reader.ok());
        return reader.ok() ? test::drain(**reader) : "";
    }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    spool::PosixFileOps ops_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<spool::Spool> spool_;
    StubProfiles profiles_;
    std::unique_ptr<Intake> intake_;
};

mime::Draft draft() {
    mime::Draft d;
    d.to = {"a@example.com"};
    d.subject = "scan";
    d.text = "hello";
    return d;
}

TEST_F(IntakeTest, ComposeSendsFromTheProfileSender) {
    auto a = intake_->compose(spool::Function::scan_to_email, "email", draft());
    ASSERT_TRUE(a.ok()) << a.error().describe();
    EXPECT_FALSE(a->held);
    const auto j = job(a->id);
    EXPECT_EQ(j.state, spool::JobState::queued);
    EXPECT_EQ(j.sender, "scanner@example.test");
    EXPECT_EQ(j.subject, "scan");
    EXPECT_NE(message(a->id).find("From: scanner@example.test"), std::string::npos);
}

TEST_F(IntakeTest, ComposeWithoutASenderSaysWhatToSet) {
    auto a = intake_->compose(spool::Function::cli, "fax", draft());
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code, Errc::invalid_input);
    EXPECT_EQ(a.error().detail, "set fax.sender first");
    a = intake_->compose(spool::Function::cli, "printer", draft());
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().detail, "no profile printer");
}

TEST_F(IntakeTest, NotSignedInIsHeldWithTheCode) {
    profiles_.problem = Errc::sign_in_expired;
    auto a = intake_->compose(spool::Function::cli, "email", draft());
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a->held);
    EXPECT_EQ(*a->held, Errc::sign_in_expired);
    EXPECT_EQ(job(a->id).state, spool::JobState::held);
}

TEST_F(IntakeTest, NotSignedInIsRefusedWhenHoldingIsOff) {
    profiles_.problem = Errc::not_signed_in;
    profiles_.settings.values()["email.hold_when_signed_out"] = "false";
    auto a = intake_->compose(spool::Function::cli, "email", draft());
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().code, Errc::not_signed_in);
    EXPECT_EQ(a.error().detail, kSignInMessage);
    auto jobs = spool_->jobs(10);
    ASSERT_TRUE(jobs.ok());
    EXPECT_TRUE(jobs->empty());  // nothing half-accepted
}

TEST_F(IntakeTest, SendmailRewritesTheSenderAndTakesRecipientsFromHeaders) {
    SendmailRequest r;
    r.from = "copier@lan.example";
    r.recipients_from_headers = true;
    auto a = intake_->sendmail(
        r, std::make_unique<StringSource>("From: copier@lan.example\r\nTo: b@example.com\r\n"
                                          "Subject: s\r\n\r\nbody\r\n"));
    ASSERT_TRUE(a.ok()) << a.error().describe();
    const auto j = job(a->id);
    EXPECT_EQ(j.sender, "scanner@example.test");
    ASSERT_EQ(j.recipients.size(), 1U);
    EXPECT_EQ(j.recipients[0].address, "b@example.com");
    EXPECT_NE(message(a->id).find("Reply-To: copier@lan.example"), std::string::npos);
}

TEST_F(IntakeTest, SendmailKeepsTheSenderWhenTheProfileSaysKeep) {
    profiles_.settings.values()["email.sender_policy"] = "keep";
    SendmailRequest r;
    r.from = "copier@lan.example";
    r.recipients = {"b@example.com, c@example.com"};
    auto a = intake_->sendmail(r, std::make_unique<StringSource>("Subject: s\r\n\r\nbody\r\n"));
    ASSERT_TRUE(a.ok()) << a.error().describe();
    const auto j = job(a->id);
    EXPECT_EQ(j.sender, "copier@lan.example");
    EXPECT_EQ(j.recipients.size(), 2U);
}

TEST_F(IntakeTest, SendmailWithoutRecipientsIsRefused) {
    auto a =
        intake_->sendmail(SendmailRequest{}, std::make_unique<StringSource>("Subject: s\r\n\r\n"));
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.error().detail, "no recipient: give addresses or -t");
}

TEST_F(IntakeTest, RelayedGoesToTheRelayProfileWithAReturnPath) {
    profiles_.settings.values()["relay.profile"] = "fax";
    profiles_.settings.values()["fax.sender"] = "fax@example.test";
    StringSource body("Subject: scan\r\n\r\nb\r\n");
    auto a = intake_->relayed({"copier@lan.example", {"a@example.com"}}, body);
    ASSERT_TRUE(a.ok()) << a.error().describe();
    const auto j = job(a->id);
    EXPECT_EQ(j.profile, "fax");
    EXPECT_EQ(j.function, spool::Function::relay);
    EXPECT_EQ(j.sender, "fax@example.test");
    EXPECT_EQ(j.return_path, "copier@lan.example");
}

}  // namespace
}  // namespace pb::intake
