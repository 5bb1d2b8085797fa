// The queue's contract, on every backend (backend.hpp): intake, claims and
// their leases, results, retry, release, recovery of a dead owner's jobs,
// retention and the history's figures. What only a backend of files can
// show (a failing disk, fsyncs, orphan files) is in tests/sqlite.
#include <gtest/gtest.h>

#include <set>

#include "spool/history.hpp"
#include "spool/spool.hpp"
#include "storage/backend.hpp"
#include "support/fakes.hpp"
#include "support/spool_jobs.hpp"

namespace pb::spool {
namespace {

Attempt ended(JobState s, std::optional<Error> e = std::nullopt) {
    Attempt a;
    a.state = s;
    a.error = std::move(e);
    return a;
}

using test::sent_to_b;

class QueueSuite : public ::testing::TestWithParam<test::Backend> {
  protected:
    void SetUp() override {
        env_ = GetParam().make(clock_, rng_);
        auto st = env_->open_store({.key_base64 = std::string(43, 'A') + "="});
        ASSERT_TRUE(st.ok()) << st.error().detail;
        store_ = std::move(*st);
        spool_ = another();
        ASSERT_NE(spool_, nullptr);
    }
    void TearDown() override {
        spool_.reset();
        store_.reset();
        env_.reset();
    }
    // Another spool on the same queue: another owner.
    std::unique_ptr<Spool> another() {
        auto sp = env_->open_spool();
        EXPECT_TRUE(sp.ok()) << (sp.ok() ? "" : sp.error().detail);
        return sp.ok() ? std::move(*sp) : nullptr;
    }

    Submission sub(std::vector<std::string> rcpts = {"b@example.test"}) {
        return test::scan_submission(std::move(rcpts));
    }
    JobId accept(const std::string& body = "Subject: x\r\n\r\nhi\r\n") {
        return test::accept_scan(*spool_, body);
    }
    Job get(JobId id) { return test::job_of(*spool_, id); }
    std::string read_body(const Job& j) { return test::read_message(*spool_, j); }

    test::ManualClock clock_;
    test::CountingRandom rng_;
    std::unique_ptr<test::BackendEnv> env_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<Spool> spool_;
};

TEST_P(QueueSuite, AcceptedJobIsQueuedWithItsRecord) {
    const JobId id = accept("Subject: x\r\n\r\nhi\r\n");
    const Job j = get(id);
    EXPECT_EQ(j.state, JobState::queued);
    EXPECT_EQ(j.function, Function::scan_to_email);
    EXPECT_EQ(j.profile, "email");
    EXPECT_EQ(j.sender, "a@example.test");
    EXPECT_EQ(j.subject, "Scan");
    EXPECT_EQ(j.size, 18U);
    ASSERT_EQ(j.recipients.size(), 1U);
    EXPECT_EQ(j.recipients[0].result, RecipientResult::pending);
    EXPECT_EQ(env_->bodies(), 1U);
    EXPECT_EQ(read_body(j), "Subject: x\r\n\r\nhi\r\n");
}

TEST_P(QueueSuite, JobIdsIncrease) {
    const JobId a = accept();
    const JobId b = accept();
    EXPECT_LT(a, b);
}

TEST_P(QueueSuite, NoRecipientIsInvalidInput) {
    StringSource src("x");
    auto id = spool_->accept(sub({}), src);
    ASSERT_FALSE(id.ok());
    EXPECT_EQ(id.error().code, Errc::invalid_input);
}

TEST_P(QueueSuite, HeldSubmissionIsHeldWithTheManualsText) {
    auto s = sub();
    s.held = Errc::not_signed_in;
    StringSource src("x");
    auto id = spool_->accept(s, src);
    ASSERT_TRUE(id.ok());
    const Job j = get(*id);
    EXPECT_EQ(j.state, JobState::held);
    EXPECT_EQ(j.code, Errc::not_signed_in);
    EXPECT_EQ(to_json(j)["status"], "No connection with the cloud service or email service.");
}

// Fault injection: the Nth write fails, for every N that intake makes. The
// intake refuses with 651 and a clear message; what was accepted before is
// untouched and no trace of the refused job remains.
TEST_P(QueueSuite, ADamagedBodyIsQuarantinedAndShownInHistory) {
    const JobId id = accept("body");
    auto claimed = spool_->claim("email", 10);
    ASSERT_TRUE(claimed.ok());
    ASSERT_EQ(claimed->size(), 1U);
    env_->damage(claimed->front().file);

    auto r = spool_->open_message(claimed->front());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::spool_unwritable);
    const Job j = get(id);
    EXPECT_EQ(j.state, JobState::failed);
    EXPECT_EQ(j.code, Errc::spool_unwritable);
    EXPECT_NE(j.detail.find("damaged"), std::string::npos) << j.detail;
    EXPECT_NE(j.detail.find("quarantine"), std::string::npos) << j.detail;
    EXPECT_EQ(env_->bodies(), 0U);
    EXPECT_EQ(env_->quarantined(), 1U);
    EXPECT_FALSE(spool_->retry(id).ok()) << "a quarantined job has nothing left to send";
}

TEST_P(QueueSuite, ClaimTakesDueJobsOldestFirstAndCountsAttempts) {
    const JobId a = accept();
    const JobId b = accept();
    auto c = spool_->claim("email", 1);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c->size(), 1U);
    EXPECT_EQ(c->front().id, a);
    EXPECT_EQ(c->front().state, JobState::sending);
    EXPECT_EQ(c->front().attempts, 1);
    auto d = spool_->claim("email", 10);
    ASSERT_TRUE(d.ok());
    ASSERT_EQ(d->size(), 1U);
    EXPECT_EQ(d->front().id, b);
    EXPECT_TRUE(spool_->claim("fax", 10)->empty());
}

TEST_P(QueueSuite, ClaimSkipsJobsNotYetDue) {
    const JobId id = accept();
    auto c = spool_->claim("email", 1);
    Attempt a{JobState::queued, fail(Errc::cannot_connect, "refused"),  false,
              "S: nothing\n",   clock_.now() + std::chrono::minutes{5}, {}};
    ASSERT_TRUE(spool_->finish_attempt(id, a).ok());
    EXPECT_TRUE(spool_->claim("email", 10)->empty());
    EXPECT_EQ(**spool_->next_due("email"), clock_.now() + std::chrono::minutes{5});
    clock_.advance(std::chrono::minutes{5});
    EXPECT_EQ(spool_->claim("email", 10)->size(), 1U);
}

// The clock jumping (an NTP step, a fixed RTC): 2 hours back, a job deferred
// for 5 minutes on the clock as it was is tried now rather than in 2 hours
// and 5 minutes, and defers again on the clock as it is; 2 hours forward,
// it is simply due.
TEST_P(QueueSuite, AClockGoingBackTwoHoursDoesNotStrandADeferredJob) {
    const JobId id = accept();
    (void)spool_->claim("email", 1);
    const TimePoint before = clock_.now();
    Attempt a{JobState::queued, fail(Errc::cannot_connect, "refused"), false,
              "S: nothing\n",   before + std::chrono::minutes{5},      {}};
    ASSERT_TRUE(spool_->finish_attempt(id, a).ok());
    clock_.set(before - std::chrono::hours{2});
    EXPECT_EQ(**spool_->next_due("email"), clock_.now()) << "the engine would sleep 2 hours";
    EXPECT_EQ(*spool_->due_profiles(), std::vector<std::string>{"email"});
    auto again = spool_->claim("email", 10);
    ASSERT_EQ(again->size(), 1U);
    // Deferred on the clock as it is now: not due until its new time.
    Attempt b = a;
    b.next_attempt_at = clock_.now() + std::chrono::minutes{5};
    ASSERT_TRUE(spool_->finish_attempt(id, b).ok());
    EXPECT_TRUE(spool_->claim("email", 10)->empty());
    EXPECT_EQ(**spool_->next_due("email"), clock_.now() + std::chrono::minutes{5});
}

TEST_P(QueueSuite, AClockGoingForwardTwoHoursMakesADeferredJobDue) {
    const JobId id = accept();
    (void)spool_->claim("email", 1);
    Attempt a{JobState::queued, fail(Errc::cannot_connect, "refused"),  false,
              "S: nothing\n",   clock_.now() + std::chrono::minutes{5}, {}};
    ASSERT_TRUE(spool_->finish_attempt(id, a).ok());
    clock_.advance(std::chrono::hours{2});
    EXPECT_EQ(spool_->claim("email", 10)->size(), 1U);
    EXPECT_EQ(get(id).attempts, 2);
}

TEST_P(QueueSuite, ASentJobDropsItsBodyAndKeepsItsHistory) {
    const JobId id = accept();
    auto c = spool_->claim("email", 1);
    Attempt a{JobState::sent,
              std::nullopt,
              false,
              std::nullopt,
              std::nullopt,
              {Recipient{0, "b@example.test", RecipientResult::accepted, std::nullopt, "250 ok"}}};
    ASSERT_TRUE(spool_->finish_attempt(id, a).ok());
    const Job j = get(id);
    EXPECT_EQ(j.state, JobState::sent);
    EXPECT_TRUE(j.finished_at.has_value());
    EXPECT_EQ(j.recipients[0].result, RecipientResult::accepted);
    EXPECT_EQ(env_->bodies(), 0U);
}

TEST_P(QueueSuite, UnclaimPutsJobsBackWithTheirAttemptUncounted) {
    const JobId a = accept();
    const JobId b = accept();
    ASSERT_EQ(spool_->claim("email", 2)->size(), 2U);
    ASSERT_TRUE(spool_->finish_attempt(a, sent_to_b()).ok());
    const JobId both[] = {a, b};
    ASSERT_TRUE(spool_->unclaim(both).ok());
    EXPECT_EQ(get(a).state, JobState::sent);  // no longer sending: left alone
    EXPECT_EQ(get(a).attempts, 1);
    EXPECT_EQ(get(b).state, JobState::queued);
    EXPECT_EQ(get(b).attempts, 0);
    EXPECT_EQ(spool_->claim("email", 5)->size(), 1U);
}

TEST_P(QueueSuite, FailedAttemptKeepsTranscriptAndRetryRequeues) {
    StringSource src("x");
    auto id = spool_->accept(sub({"ok@example.test", "reject@example.test"}), src);
    ASSERT_TRUE(id.ok());
    (void)spool_->claim("email", 1);
    Attempt a{JobState::partial,
              fail(Errc::recipient_rejected, "1 of 2 recipients refused"),
              false,
              "C: RCPT TO:<reject@example.test>\nS: 550 5.1.1 no\n",
              std::nullopt,
              {Recipient{0, "ok@example.test", RecipientResult::accepted, std::nullopt, "250 ok"},
               Recipient{1, "reject@example.test", RecipientResult::rejected,
                         Errc::recipient_rejected, "550 5.1.1 no"}}};
    ASSERT_TRUE(spool_->finish_attempt(*id, a).ok());
    Job j = get(*id);
    EXPECT_EQ(j.state, JobState::partial);
    EXPECT_NE(j.transcript.find("550 5.1.1"), std::string::npos);
    auto json = to_json(j, true);
    EXPECT_EQ(json["recipients"][1]["result"], "rejected");
    EXPECT_EQ(json["recipients"][1]["code"], 632);
    EXPECT_EQ(json["code"], 632);

    ASSERT_TRUE(spool_->retry(*id).ok());
    j = get(*id);
    EXPECT_EQ(j.state, JobState::queued);
    EXPECT_EQ(j.recipients[0].result, RecipientResult::accepted)
        << "accepted recipients are not sent twice";
    EXPECT_EQ(j.recipients[1].result, RecipientResult::pending);
}

TEST_P(QueueSuite, RetryOfJobBeingSentIsRefused) {
    const JobId id = accept();
    (void)spool_->claim("email", 1);
    auto r = spool_->retry(id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::invalid_input);
}

TEST_P(QueueSuite, RetryOfQueuedJobMakesItDueNow) {
    const JobId id = accept();
    (void)spool_->claim("email", 1);
    Attempt later{JobState::queued, fail(Errc::cannot_connect, "refused"), false,
                  std::nullopt,     clock_.now() + std::chrono::hours{1},  {}};
    ASSERT_TRUE(spool_->finish_attempt(id, later).ok());
    EXPECT_TRUE(spool_->claim("email", 1)->empty());
    ASSERT_TRUE(spool_->retry(id).ok());
    EXPECT_EQ(spool_->claim("email", 1)->size(), 1U);
}

TEST_P(QueueSuite, RetryOfUnknownJobIsRefused) {
    EXPECT_FALSE(spool_->retry(999).ok());
}

TEST_P(QueueSuite, ReleaseHeldQueuesOnlyThatProfile) {
    auto s = sub();
    s.held = Errc::sign_in_again;
    StringSource a("a"), b("b");
    auto ja = spool_->accept(s, a);
    s.profile = "fax";
    auto jb = spool_->accept(s, b);
    EXPECT_EQ(*spool_->release_held("email"), 1U);
    EXPECT_EQ(get(*ja).state, JobState::queued);
    EXPECT_EQ(get(*jb).state, JobState::held);
}

TEST_P(QueueSuite, ADeadOwnersJobsComeBackMaybeSentIfOnTheWireAndUntriedIfReserved) {
    const JobId out = accept();
    const JobId reserved = accept();
    {
        auto other = another();  // another process, which dies while sending
        ASSERT_EQ(other->claim("email", 2)->size(), 2U);
        const JobId going[] = {out};
        ASSERT_TRUE(other->finish_attempts({}, Durability::deferred, going).ok());
        EXPECT_TRUE(get(out).on_wire);
        EXPECT_FALSE(get(reserved).on_wire);
        EXPECT_EQ(get(out).owner, other->owner());
        EXPECT_EQ(*spool_->recover_expired(), 0U) << "its owner is alive";
    }
    EXPECT_EQ(*spool_->recover(), 2U);
    const Job j = get(out);
    EXPECT_EQ(j.state, JobState::queued);
    EXPECT_TRUE(j.maybe_sent) << "the server may have taken it before the process died";
    EXPECT_EQ(j.attempts, 1);
    EXPECT_TRUE(j.owner.empty());
    EXPECT_EQ(read_body(j), "Subject: x\r\n\r\nhi\r\n");
    const Job r = get(reserved);
    EXPECT_EQ(r.state, JobState::queued);
    EXPECT_FALSE(r.maybe_sent) << "its message never left";
    EXPECT_EQ(r.attempts, 0);
    EXPECT_EQ(spool_->claim("email", 5)->size(), 2U);
}

TEST_P(QueueSuite, AClaimIsLeasedToItsOwnerAndRenewed) {
    const JobId id = accept();
    ASSERT_EQ(spool_->claim("email", 1)->size(), 1U);
    Job j = get(id);
    EXPECT_EQ(j.owner, spool_->owner());
    ASSERT_TRUE(j.lease_until.has_value());
    EXPECT_EQ(*j.lease_until, clock_.now() + kLeaseLength);
    EXPECT_EQ(to_json(j)["owner"], spool_->owner()) << "jobs show says who sends it";
    EXPECT_TRUE(to_json(j).contains("lease_until"));
    clock_.advance(std::chrono::seconds{20});
    ASSERT_TRUE(spool_->renew_leases().ok());
    EXPECT_EQ(*get(id).lease_until, clock_.now() + kLeaseLength);
    // A result ends the lease.
    ASSERT_TRUE(spool_->finish_attempt(id, sent_to_b()).ok());
    EXPECT_TRUE(get(id).owner.empty());
    EXPECT_FALSE(get(id).lease_until.has_value());
    EXPECT_FALSE(to_json(get(id)).contains("owner"));
}

TEST_P(QueueSuite, OwnersAreDistinctAndNeverRecoverTheirOwnJobs) {
    auto other = another();
    EXPECT_NE(other->owner(), spool_->owner());
    const JobId id = accept();
    ASSERT_EQ(spool_->claim("email", 1)->size(), 1U);
    clock_.advance(kLeaseLength * 3);
    EXPECT_EQ(*spool_->recover_expired(), 0U) << "a spool knows what it is sending";
    EXPECT_EQ(get(id).state, JobState::sending);
}

TEST_P(QueueSuite, ALiveRenewingOwnerKeepsItsJobs) {
    auto other = another();
    const JobId id = accept();
    ASSERT_EQ(other->claim("email", 1)->size(), 1U);
    for (int i = 0; i < 8; ++i) {
        clock_.advance(kLeaseLength / 4);
        ASSERT_TRUE(other->renew_leases().ok());
        EXPECT_EQ(*spool_->recover_expired(), 0U);
    }
    EXPECT_EQ(get(id).state, JobState::sending);
    EXPECT_EQ(get(id).owner, other->owner());
}

TEST_P(QueueSuite, TwoOwnersNeverClaimTheSameJob) {
    auto other = another();
    std::vector<JobId> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(accept());
    auto a = spool_->claim("email", 6);
    auto b = other->claim("email", 6);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->size(), 6U);
    EXPECT_EQ(b->size(), 4U);
    std::set<JobId> seen;
    for (const auto& j : *a) seen.insert(j.id);
    for (const auto& j : *b) EXPECT_TRUE(seen.insert(j.id).second) << "job " << j.id;
    EXPECT_EQ(seen.size(), 10U);
}

TEST_P(QueueSuite, AClaimStartsAJobOffTheWireAgain) {
    const JobId id = accept();
    ASSERT_EQ(spool_->claim("email", 1)->size(), 1U);
    const JobId going[] = {id};
    ASSERT_TRUE(spool_->finish_attempts({}, Durability::deferred, going).ok());
    Attempt later{JobState::queued,
                  fail(Errc::cannot_connect, "refused"),
                  false,
                  std::nullopt,
                  clock_.now(),
                  {}};
    ASSERT_TRUE(spool_->finish_attempt(id, later).ok());
    ASSERT_EQ(spool_->claim("email", 1)->size(), 1U);
    EXPECT_FALSE(get(id).on_wire);
}

TEST_P(QueueSuite, PruneByCountKeepsNewestFinalJobsAndAllPending) {
    std::vector<JobId> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(accept());
    for (int i = 0; i < 4; ++i) {
        auto c = spool_->claim("email", 1);
        ASSERT_TRUE(spool_
                        ->finish_attempt(c->front().id, ended(JobState::failed,
                                                              fail(Errc::message_too_large, "big")))
                        .ok());
    }
    EXPECT_EQ(*spool_->prune(Retention{2, std::chrono::days{30}}), 2U);
    EXPECT_FALSE(spool_->job(ids[0])->has_value());
    EXPECT_FALSE(spool_->job(ids[1])->has_value());
    EXPECT_TRUE(spool_->job(ids[2])->has_value());
    EXPECT_TRUE(spool_->job(ids[4])->has_value()) << "a queued job is never pruned";
    EXPECT_EQ(env_->bodies(), 3U);
}

TEST_P(QueueSuite, PruneByAgeRemovesOldFinalJobs) {
    const JobId old = accept();
    auto c = spool_->claim("email", 1);
    ASSERT_TRUE(spool_->finish_attempt(old, ended(JobState::sent)).ok());
    clock_.advance(std::chrono::days{31});
    const JobId fresh = accept();
    EXPECT_EQ(*spool_->prune(Retention{1000, std::chrono::days{30}}), 1U);
    EXPECT_FALSE(spool_->job(old)->has_value());
    EXPECT_TRUE(spool_->job(fresh)->has_value());
}

TEST_P(QueueSuite, JobsListNewestFirst) {
    const JobId a = accept();
    const JobId b = accept();
    auto all = spool_->jobs(10);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 2U);
    EXPECT_EQ((*all)[0].id, b);
    EXPECT_EQ((*all)[1].id, a);
}

TEST_P(QueueSuite, JsonShapeMatchesTheContract) {
    const JobId id = accept();
    auto j = to_json(get(id));
    EXPECT_EQ(j["job"], id);
    EXPECT_TRUE(j["job"].is_number_integer());
    EXPECT_EQ(j["state"], "queued");
    EXPECT_FALSE(j.contains("code")) << "absent values are left out";
    EXPECT_EQ(j["recipients"][0]["address"], "b@example.test");
    EXPECT_EQ(j["recipients"][0]["result"], "pending");
    EXPECT_EQ(j["function"], "scan-to-email");
    EXPECT_FALSE(j.contains("transport")) << "not tried yet: no transport";
}

TEST_P(QueueSuite, AJobKeepsTheTransportItsLastAttemptWentOver) {
    const JobId id = accept();
    (void)spool_->claim("email", 1);
    Attempt smtp{JobState::queued,
                 fail(Errc::smtp_auth_disabled, "535 5.7.139"),
                 false,
                 std::nullopt,
                 clock_.now(),
                 {},
                 "smtp"};
    ASSERT_TRUE(spool_->finish_attempt(id, smtp).ok());
    EXPECT_EQ(get(id).transport, "smtp");
    EXPECT_EQ(to_json(get(id))["transport"], "smtp");

    // An attempt no transport took ("the transport gave no result") leaves it.
    (void)spool_->claim("email", 1);
    Attempt none{JobState::queued,
                 fail(Errc::mail_service_unavailable, "no result"),
                 false,
                 std::nullopt,
                 clock_.now(),
                 {}};
    ASSERT_TRUE(spool_->finish_attempt(id, none).ok());
    EXPECT_EQ(get(id).transport, "smtp");

    (void)spool_->claim("email", 1);
    Attempt graph = sent_to_b();
    graph.transport = "graph";
    ASSERT_TRUE(spool_->finish_attempt(id, graph).ok());
    EXPECT_EQ(get(id).transport, "graph");
    EXPECT_EQ(to_json(get(id), true)["transport"], "graph");
}

INSTANTIATE_TEST_SUITE_P(Storage, QueueSuite, ::testing::ValuesIn(test::backends()),
                         test::backend_name);

}  // namespace
}  // namespace pb::spool
