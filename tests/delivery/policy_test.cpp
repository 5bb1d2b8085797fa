// The retry / fail / hold decision for every code of the table, backoff with
// jitter, max_age, and how one attempt's outcome becomes the job's state.
#include "delivery/policy.hpp"

#include <gtest/gtest.h>

#include <set>

#include "support/fakes.hpp"

namespace pb::delivery {
namespace {

using namespace std::chrono_literals;

class PolicyTest : public ::testing::Test {
  protected:
    test::ManualClock clock_;
    test::CountingRandom rng_;
    RetryPolicy policy_;

    Decision decide_now(Errc c, int attempts = 1) {
        return decide(fail(c, "x"), attempts, clock_.now(), clock_.now(), policy_, rng_);
    }
    spool::Job job(std::vector<std::string> rcpts, int attempts = 1) {
        spool::Job j;
        j.id = 1;
        j.attempts = attempts;
        j.queued_at = clock_.now();
        for (std::size_t i = 0; i < rcpts.size(); ++i) {
            spool::Recipient r;
            r.seq = static_cast<int>(i);
            r.address = rcpts[i];
            j.recipients.push_back(r);
        }
        return j;
    }
};

TEST_F(PolicyTest, EveryCodeHasTheDecisionOfItsCondition) {
    for (const auto& c : code_table()) {
        const Decision d = decide_now(c.code);
        Action want = Action::fail;
        switch (c.condition) {
            case Condition::transient:
                want = Action::retry;
                break;
            case Condition::sign_in:
                want = Action::hold;
                break;
            case Condition::permanent:
            case Condition::configuration:
                want = Action::fail;
                break;
            case Condition::local:
                want = c.code == Errc::spool_unwritable ? Action::retry : Action::fail;
                break;
        }
        EXPECT_EQ(d.action, want) << "code " << static_cast<int>(c.code);
        EXPECT_EQ(d.error.code, c.code) << "the job shows the code that happened";
    }
}

TEST_F(PolicyTest, SignInCodesHold) {
    for (Errc c : {Errc::not_signed_in, Errc::sign_in_expired, Errc::sign_in_again})
        EXPECT_EQ(decide_now(c).action, Action::hold);
}

TEST_F(PolicyTest, AuthRejectedAfterForcedRefreshFailsNotHolds) {
    EXPECT_EQ(decide_now(Errc::auth_rejected).action, Action::fail);
}

TEST_F(PolicyTest, NetworkOutageRetries) {
    const Decision d = decide_now(Errc::cannot_connect);
    EXPECT_EQ(d.action, Action::retry);
    ASSERT_TRUE(d.retry_at.has_value());
    EXPECT_GT(*d.retry_at, clock_.now());
}

TEST_F(PolicyTest, BackoffDoublesWithinJitterBoundsAndCaps) {
    for (int n = 1; n <= 12; ++n) {
        const Duration full =
            std::min(Duration{policy_.first * (1LL << std::min(n - 1, 20))}, policy_.cap);
        for (int k = 0; k < 50; ++k) {
            const Duration d = backoff(n, policy_, rng_);
            EXPECT_GE(d, full / 2) << "attempt " << n;
            EXPECT_LE(d, full) << "attempt " << n;
        }
    }
}

TEST_F(PolicyTest, JitterSpreadsRetries) {
    std::set<Duration::rep> seen;
    for (int k = 0; k < 20; ++k) seen.insert(backoff(3, policy_, rng_).count());
    EXPECT_GT(seen.size(), 10U);
}

TEST_F(PolicyTest, GivesUpWith653AfterMaxAge) {
    const auto queued = clock_.now() - policy_.max_age + 10s;
    const Decision d = decide(fail(Errc::cannot_connect, "connection refused"), 9, queued,
                              clock_.now(), policy_, rng_);
    EXPECT_EQ(d.action, Action::fail);
    EXPECT_EQ(d.error.code, Errc::gave_up);
    EXPECT_NE(d.error.detail.find("5d"), std::string::npos) << d.error.detail;
    EXPECT_NE(d.error.detail.find("602"), std::string::npos)
        << "the last error is named: " << d.error.detail;
}

TEST_F(PolicyTest, AllAcceptedIsSent) {
    MessageOutcome o{{{"a@x.test", std::nullopt, "250 ok"}, {"b@x.test", std::nullopt, "250 ok"}},
                     std::nullopt,
                     false};
    const auto a = settle(job({"a@x.test", "b@x.test"}), o, "T", clock_.now(), policy_, rng_);
    EXPECT_EQ(a.state, spool::JobState::sent);
    EXPECT_FALSE(a.error.has_value());
    EXPECT_FALSE(a.transcript.has_value()) << "transcripts are kept for failed attempts";
}

TEST_F(PolicyTest, TheAttemptKeepsTheTransportThatTriedIt) {
    MessageOutcome o{{}, fail(Errc::cannot_connect, "refused"), false, "graph"};
    EXPECT_EQ(settle(job({"a@x.test"}), o, "T", clock_.now(), policy_, rng_).transport, "graph");
}

TEST_F(PolicyTest, SomeRefusedForGoodIsPartial) {
    MessageOutcome o{
        {{"a@x.test", std::nullopt, "250 ok"},
         {"reject@x.test", fail(Errc::recipient_rejected, "550"), "550 5.1.1 no such user"}},
        std::nullopt,
        false};
    const auto a = settle(job({"a@x.test", "reject@x.test"}), o, "T", clock_.now(), policy_, rng_);
    EXPECT_EQ(a.state, spool::JobState::partial);
    ASSERT_TRUE(a.error.has_value());
    EXPECT_EQ(a.error->code, Errc::recipient_rejected);
    EXPECT_EQ(a.recipients[0].result, spool::RecipientResult::accepted);
    EXPECT_EQ(a.recipients[1].result, spool::RecipientResult::rejected);
    EXPECT_EQ(a.transcript, "T");
}

TEST_F(PolicyTest, EveryRecipientRefusedIsFailed) {
    MessageOutcome o{{{"reject@x.test", fail(Errc::recipient_rejected, "550"), "550 5.1.1"}},
                     fail(Errc::recipient_rejected, "no recipient accepted"),
                     false};
    const auto a = settle(job({"reject@x.test"}), o, "T", clock_.now(), policy_, rng_);
    EXPECT_EQ(a.state, spool::JobState::failed);
    EXPECT_EQ(a.error->code, Errc::recipient_rejected);
}

TEST_F(PolicyTest, TemporarilyRefusedRecipientStaysPendingAndJobRetries) {
    MessageOutcome o{
        {{"a@x.test", std::nullopt, "250 ok"},
         {"busy@x.test", fail(Errc::mail_service_unavailable, "450"), "450 4.2.1 try later"}},
        std::nullopt,
        false};
    const auto a = settle(job({"a@x.test", "busy@x.test"}), o, "T", clock_.now(), policy_, rng_);
    EXPECT_EQ(a.state, spool::JobState::queued);
    EXPECT_TRUE(a.next_attempt_at.has_value());
    EXPECT_EQ(a.recipients[0].result, spool::RecipientResult::accepted);
    EXPECT_EQ(a.recipients[1].result, spool::RecipientResult::pending);
}

TEST_F(PolicyTest, ConnectionFailureKeepsAcceptedAtRcptPending) {
    MessageOutcome o{{{"a@x.test", std::nullopt, "250 ok"}},
                     fail(Errc::timed_out, "while sending end of data"),
                     true};
    const auto a = settle(job({"a@x.test"}), o, "T", clock_.now(), policy_, rng_);
    EXPECT_EQ(a.state, spool::JobState::queued);
    EXPECT_EQ(a.recipients[0].result, spool::RecipientResult::pending);
    EXPECT_TRUE(a.maybe_sent);
}

TEST_F(PolicyTest, NotSignedInHoldsWithCode) {
    MessageOutcome o{{}, fail(Errc::not_signed_in, "profile email is not signed in"), false};
    const auto a = settle(job({"a@x.test"}), o, "T", clock_.now(), policy_, rng_);
    EXPECT_EQ(a.state, spool::JobState::held);
    EXPECT_EQ(a.error->code, Errc::not_signed_in);
}

TEST_F(PolicyTest, PermanentFailureAfterEarlierAcceptanceIsPartial) {
    auto j = job({"a@x.test", "b@x.test"});
    j.recipients[0].result = spool::RecipientResult::accepted;  // an earlier attempt
    MessageOutcome o{{}, fail(Errc::message_too_large, "552"), false};
    const auto a = settle(j, o, "T", clock_.now(), policy_, rng_);
    EXPECT_EQ(a.state, spool::JobState::partial);
    EXPECT_EQ(a.recipients[1].result, spool::RecipientResult::rejected);
}

// At intake: a profile that can send queues; one that cannot holds, or
// refuses when hold_when_signed_out is off. Held jobs go back once it can.
TEST(Admission, QueueHoldOrRefuseAndReleaseFollowTheSignIn) {
    EXPECT_EQ(admit(std::nullopt, true), Admission::queue);
    EXPECT_EQ(admit(std::nullopt, false), Admission::queue);
    for (const Errc code : {Errc::not_signed_in, Errc::sign_in_expired, Errc::sign_in_again}) {
        EXPECT_EQ(admit(code, true), Admission::hold);
        EXPECT_EQ(admit(code, false), Admission::refuse);
        EXPECT_FALSE(release_held(code));
    }
    EXPECT_TRUE(release_held(std::nullopt));
}

}  // namespace
}  // namespace pb::delivery
