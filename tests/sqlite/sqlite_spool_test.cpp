// The local backend's queue where its files show: fault injection on the
// disk, deferred syncs of the log, orphan files, and owners that die as
// processes do. The contract itself is tests/storage/queue_suite_test.cpp.
#include "sqlite/spool.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "spool/history.hpp"
#include "sqlite/store.hpp"
#include "support/failing_file_ops.hpp"
#include "support/fakes.hpp"
#include "support/spool_jobs.hpp"
#include "support/temp_dir.hpp"

namespace pb::sqlite {
namespace {

namespace fs = std::filesystem;

using namespace spool;  // NOLINT: the tests speak of jobs and attempts

using test::sent_to_b;

class SqliteSpoolTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-spool");
        auto st = SqliteStore::open(dir_, rng_, clock_, {.key_base64 = std::string(43, 'A') + "="});
        ASSERT_TRUE(st.ok()) << st.error().detail;
        store_ = std::move(*st);
        auto sp = SqliteSpool::open(dir_, ops_, clock_, rng_);
        ASSERT_TRUE(sp.ok()) << sp.error().detail;
        spool_ = std::move(*sp);
    }
    void TearDown() override {
        spool_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }

    Submission sub(std::vector<std::string> rcpts = {"b@example.test"}) {
        return test::scan_submission(std::move(rcpts));
    }
    JobId accept(const std::string& body = "Subject: x\r\n\r\nhi\r\n") {
        return test::accept_scan(*spool_, body);
    }
    Job get(JobId id) { return test::job_of(*spool_, id); }
    std::size_t files(const char* sub) {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ / "spool" / sub)) ++n;
        return n;
    }
    std::string read_body(const Job& j) { return test::read_message(*spool_, j); }

    fs::path dir_;
    test::ManualClock clock_;
    test::CountingRandom rng_;
    test::FailingFileOps ops_;
    std::unique_ptr<SqliteStore> store_;
    std::unique_ptr<Spool> spool_;
};

TEST_F(SqliteSpoolTest, WriteFailingAtEveryCallRefusesAndHarmsNothing) {
    const JobId before = accept("first");
    for (int n = 1;; ++n) {
        ops_.writes = 0;
        ops_.fail_write_at = n;
        StringSource src("second");
        auto id = spool_->accept(sub(), src);
        if (id.ok()) {
            EXPECT_GT(n, 4) << "a failed write went unnoticed";
            break;
        }
        EXPECT_EQ(id.error().code, Errc::spool_unwritable);
        EXPECT_NE(id.error().detail.find("the message was not accepted"), std::string::npos);
        EXPECT_NE(id.error().detail.find("No space left on device"), std::string::npos);
        auto all = spool_->jobs(10);
        ASSERT_TRUE(all.ok());
        EXPECT_EQ(all->size(), 1U) << "write " << n;
        EXPECT_EQ(files("msg"), 1U) << "write " << n;
        EXPECT_EQ(files("tmp"), 0U) << "write " << n;
    }
    ops_.fail_write_at.reset();
    EXPECT_EQ(read_body(get(before)), "first");
}

TEST_F(SqliteSpoolTest, FsyncFailingAtEveryCallRefusesAndHarmsNothing) {
    const JobId before = accept("first");
    for (int n = 1;; ++n) {
        ops_.fsyncs = 0;
        ops_.fail_fsync_at = n;
        StringSource src("second");
        auto id = spool_->accept(sub(), src);
        if (id.ok()) {
            EXPECT_GT(n, 2) << "both the file's and the directory's fsync must be checked";
            break;
        }
        EXPECT_EQ(id.error().code, Errc::spool_unwritable);
        auto all = spool_->jobs(10);
        ASSERT_TRUE(all.ok());
        EXPECT_EQ(all->size(), 1U);
        EXPECT_EQ(files("msg"), 1U);
        EXPECT_EQ(files("tmp"), 0U);
    }
    ops_.fail_fsync_at.reset();
    EXPECT_EQ(read_body(get(before)), "first");
}

TEST_F(SqliteSpoolTest, ADeferredResultKeepsItsFileUntilItIsSynced) {
    // Written, not synced: a power cut could undo it and the job would be
    // sent again, so its message must still be there.
    const JobId id = accept();
    ASSERT_EQ(spool_->claim("email", 1, std::nullopt, Durability::deferred)->size(), 1U);
    const std::pair<JobId, Attempt> one[] = {{id, sent_to_b()}};
    ASSERT_TRUE(spool_->finish_attempts(one, Durability::deferred).ok());
    EXPECT_EQ(get(id).state, JobState::sent);
    spool_->remove_freed();
    EXPECT_EQ(files("msg"), 1U);

    const int fsyncs = ops_.fsyncs;
    ASSERT_TRUE(spool_->sync().ok());
    EXPECT_EQ(ops_.fsyncs, fsyncs + 1);  // the log, once
    EXPECT_EQ(files("msg"), 1U);         // freed; removed off the lock, by remove_freed
    spool_->remove_freed();
    EXPECT_EQ(files("msg"), 0U);

    ASSERT_TRUE(spool_->sync().ok());  // nothing deferred since: no fsync
    EXPECT_EQ(ops_.fsyncs, fsyncs + 1);
}

TEST_F(SqliteSpoolTest, ASyncedCommitMakesTheDeferredOnesBeforeItDurable) {
    const JobId id = accept();
    ASSERT_EQ(spool_->claim("email", 1, std::nullopt, Durability::deferred)->size(), 1U);
    const std::pair<JobId, Attempt> one[] = {{id, sent_to_b()}};
    ASSERT_TRUE(spool_->finish_attempts(one, Durability::deferred).ok());
    accept();  // intake commits synced, which syncs the whole log
    spool_->remove_freed();
    EXPECT_EQ(files("msg"), 1U);  // only the new job's
    const int fsyncs = ops_.fsyncs;
    ASSERT_TRUE(spool_->sync().ok());
    EXPECT_EQ(ops_.fsyncs, fsyncs);
}

TEST_F(SqliteSpoolTest, ASyncThatFailsSaysSoAndKeepsTheFiles) {
    const JobId id = accept();
    ASSERT_EQ(spool_->claim("email", 1, std::nullopt, Durability::deferred)->size(), 1U);
    const std::pair<JobId, Attempt> one[] = {{id, sent_to_b()}};
    ASSERT_TRUE(spool_->finish_attempts(one, Durability::deferred).ok());
    ops_.fail_fsync_at = ops_.fsyncs + 1;
    auto r = spool_->sync();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::spool_unwritable);
    EXPECT_NE(r.error().detail.find("cannot sync delivery results"), std::string::npos)
        << r.error().detail;
    spool_->remove_freed();
    EXPECT_EQ(files("msg"), 1U);
    ASSERT_TRUE(spool_->sync().ok());  // the next one tries again
    spool_->remove_freed();
    EXPECT_EQ(files("msg"), 0U);
}

TEST_F(SqliteSpoolTest, RecoverSweepsOldOrphanFilesOnly) {
    accept();
    std::ofstream(dir_ / "spool" / "msg" / "orphan") << "x";
    std::ofstream(dir_ / "spool" / "tmp" / "half") << "x";
    EXPECT_TRUE(spool_->recover(std::chrono::minutes{10}).ok());
    EXPECT_EQ(files("msg"), 2U) << "young files may be an intake that has not committed yet";
    EXPECT_TRUE(spool_->recover(Duration{-1000}).ok());
    EXPECT_EQ(files("msg"), 1U);
    EXPECT_EQ(files("tmp"), 0U);
}

// A process that claims and dies (no destructor runs): the next recovery,
// in any process, takes its jobs back at once, without waiting a lease.
TEST_F(SqliteSpoolTest, AKilledProcessesJobsAreRecoveredAtOnce) {
    const JobId id = accept();
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        test::ManualClock clock;
        test::CountingRandom rng;
        PosixFileOps ops;
        auto sp = SqliteSpool::open(dir_, ops, clock, rng);
        if (!sp) ::_exit(2);
        Spool& spool = **sp;
        auto claimed = spool.claim("email", 1);
        ::_exit(claimed && claimed->size() == 1 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(get(id).state, JobState::sending);
    EXPECT_EQ(files("owners"), 1U) << "the dead owner's lock file is left";
    EXPECT_EQ(*spool_->recover_expired(), 1U);
    EXPECT_EQ(get(id).state, JobState::queued);
    EXPECT_EQ(files("owners"), 0U) << "and removed by the recovery that found it dead";
}

// Lock files of owners that died with nothing being sent go at the next
// recovery; a live owner's stays.
TEST_F(SqliteSpoolTest, ADeadOwnersLockFileIsSweptALiveOnesIsKept) {
    accept();
    auto opened = SqliteSpool::open(dir_, ops_, clock_, rng_);
    ASSERT_TRUE(opened.ok());
    std::unique_ptr<Spool> live = std::move(*opened);
    ASSERT_EQ(live->claim("email", 1)->size(), 1U);
    std::ofstream(dir_ / "spool" / "owners" / "gone-1-abc.lock") << "";
    EXPECT_EQ(files("owners"), 2U);
    ASSERT_TRUE(spool_->recover().ok());
    EXPECT_EQ(files("owners"), 1U);
    EXPECT_TRUE(fs::exists(dir_ / "spool" / "owners" / (live->owner() + ".lock")));
}

// NTP stepping the clock two hours forward must not hand a live sender's
// jobs to another process: on one host, liveness is the owner's lock.
TEST_F(SqliteSpoolTest, AClockJumpDoesNotTakeALiveOwnersJobs) {
    const JobId id = accept();
    auto opened = SqliteSpool::open(dir_, ops_, clock_, rng_);
    ASSERT_TRUE(opened.ok());
    std::unique_ptr<Spool> other = std::move(*opened);
    ASSERT_EQ(other->claim("email", 1)->size(), 1U);
    clock_.advance(std::chrono::hours{2});
    EXPECT_EQ(*spool_->recover_expired(), 0U);
    clock_.advance(std::chrono::hours{-4});
    EXPECT_EQ(*spool_->recover_expired(), 0U);
    EXPECT_EQ(get(id).state, JobState::sending);
}

// A job left in `sending` by a postbridge from before leases (no owner) is
// judged by its lease alone: it has none, so it comes back.
TEST_F(SqliteSpoolTest, AJobWithNoOwnerComesBack) {
    const JobId id = accept();
    ASSERT_EQ(spool_->claim("email", 1)->size(), 1U);
    ASSERT_TRUE(
        store_->db().exec("UPDATE jobs SET owner = NULL, lease_until = NULL, on_wire = 1").ok());
    EXPECT_EQ(*spool_->recover_expired(), 1U);
    EXPECT_TRUE(get(id).maybe_sent);
}

}  // namespace
}  // namespace pb::sqlite
