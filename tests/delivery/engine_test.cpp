// Delivery workers over a real spool with a scripted transport: batches
// over one connection, retries, holds and their release, concurrency, and
// the rate limiter's window.
#include "delivery/engine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "delivery/locks.hpp"
#include "engine_probes.hpp"
#include "fake_transport.hpp"
#include "storage/backends.hpp"
#include "store/store.hpp"
#include "support/fakes.hpp"
#include "support/temp_dir.hpp"

namespace pb::delivery {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Distinct for 2^64 calls: the spool names files from it, and a hundred jobs
// exhaust test::CountingRandom's 256-byte cycle.
class SplitMixRandom final : public Random {
  public:
    void fill(std::span<std::byte> out) override {
        for (auto& b : out) {
            if (left_ == 0) {
                std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
                word_ = z ^ (z >> 31);
                left_ = 8;
            }
            b = static_cast<std::byte>(word_ & 0xFFU);
            word_ >>= 8;
            --left_;
        }
    }

  private:
    std::uint64_t state_ = 1, word_ = 0;
    int left_ = 0;
};

// The real file operations, noting which thread closed each file opened for
// reading, last.
class CloseWatch final : public spool::FileOps {
  public:
    Result<int> create(const fs::path& p) override { return real_.create(p); }
    Result<int> open_read(const fs::path& p) override {
        auto fd = real_.open_read(p);
        if (fd) {
            std::lock_guard lock(mu_);
            open_[*fd] = p.filename().string();
        }
        return fd;
    }
    Result<void> write(int fd, std::span<const char> d) override { return real_.write(fd, d); }
    Result<std::size_t> read(int fd, std::span<char> out) override { return real_.read(fd, out); }
    Result<void> fsync(int fd) override { return real_.fsync(fd); }
    void close(int fd) noexcept override {
        {
            std::lock_guard lock(mu_);  // before the number can be reused
            if (auto it = open_.find(fd); it != open_.end()) {
                last_closer_[it->second] = std::this_thread::get_id();
                open_.erase(it);
            }
        }
        real_.close(fd);
    }
    Result<void> rename(const fs::path& from, const fs::path& to) override {
        return real_.rename(from, to);
    }
    Result<void> fsync_dir(const fs::path& d) override { return real_.fsync_dir(d); }
    void remove(const fs::path& p) noexcept override { real_.remove(p); }

    std::optional<std::thread::id> last_closer(const std::string& file) {
        std::lock_guard lock(mu_);
        auto it = last_closer_.find(file);
        return it == last_closer_.end() ? std::nullopt : std::optional(it->second);
    }

  private:
    spool::PosixFileOps real_;
    std::mutex mu_;
    std::map<int, std::string> open_;
    std::map<std::string, std::thread::id> last_closer_;
};

ProfileConfig with_concurrency(int n) {
    ProfileConfig c;
    c.concurrency = n;
    return c;
}

class EngineTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = test::fresh_dir("pb-engine");
        auto st =
            storage::open_store(dir_, rng_, clock_, {.key_base64 = std::string(43, 'A') + "="});
        ASSERT_TRUE(st.ok()) << st.error().detail;
        store_ = std::move(*st);
        auto sp = storage::open_spool(dir_, ops_, clock_, rng_);
        ASSERT_TRUE(sp.ok());
        spool_ = std::move(*sp);
    }
    void TearDown() override {
        spool_.reset();
        store_.reset();
        fs::remove_all(dir_);
    }
    Engine engine(ProfileConfig cfg = {}) {
        EngineOptions o;
        o.config = [cfg](const std::string&) { return cfg; };
        o.observer = &events_;
        return Engine(*spool_, transport_, clock_, rng_, std::move(o));
    }
    // One connection, and any error of the engine itself fails the test.
    Engine strict_engine(const std::function<void(EngineOptions&)>& set = {}) {
        EngineOptions o;
        o.config = [](const std::string&) { return with_concurrency(1); };
        o.observer = &events_;
        o.on_error = [](const Error& e) { ADD_FAILURE() << e.describe(); };
        if (set) set(o);
        return Engine(*spool_, transport_, clock_, rng_, std::move(o));
    }
    spool::JobId submit(std::vector<std::string> rcpts = {"b@example.test"},
                        std::string profile = "email") {
        StringSource body("Subject: t\r\n\r\nbody\r\n");
        auto id = spool_->accept(
            {spool::Function::cli, profile, "a@example.test", std::move(rcpts), "t", std::nullopt},
            body);
        EXPECT_TRUE(id.ok());
        return *id;
    }
    spool::Job get(spool::JobId id) { return **spool_->job(id); }

    fs::path dir_;
    test::ManualClock clock_;
    SplitMixRandom rng_;
    spool::PosixFileOps ops_;
    test::FakeTransport transport_;
    test::EventLog events_;
    std::unique_ptr<store::Store> store_;
    std::unique_ptr<spool::Spool> spool_;
};

TEST_F(EngineTest, DeliverSendsOneJobAndRecordsSent) {
    const auto id = submit();
    auto e = engine();
    auto job = e.deliver(id);
    ASSERT_TRUE(job.ok());
    EXPECT_EQ(job->state, spool::JobState::sent);
    EXPECT_EQ(job->attempts, 1);
    ASSERT_EQ(transport_.bodies.size(), 1U);
    EXPECT_EQ(transport_.bodies[0], "Subject: t\r\n\r\nbody\r\n");
}

TEST_F(EngineTest, FlushReusesOneConnectionForQueuedMessages) {
    for (int i = 0; i < 10; ++i) submit();
    auto e = engine(with_concurrency(1));
    EXPECT_EQ(e.flush(), 10U);
    EXPECT_EQ(transport_.connections, 1);
    EXPECT_EQ(transport_.batches, std::vector<std::size_t>{10});
}

TEST_F(EngineTest, ADeliveredMessageIsRecordedBeforeTheBatchEnds) {
    // Were the process to die later in the batch, a message the server took
    // must not be sent again: it is `sent` in the history soon after its
    // reply came, while the batch goes on, not when the connection closes.
    const auto first = submit();
    const auto second = submit();
    std::optional<spool::JobState> first_seen;
    transport_.script = [&](const OutgoingMessage& m) {
        // The batch cannot end while this waits, so `sent` here means it was
        // recorded while the connection went on.
        if (m.job == second) {
            EXPECT_TRUE(events_.await_attempt(first, spool::JobState::sent))
                << "the first message was not recorded while the batch went on";
            first_seen = get(first).state;
        }
        return test::FakeTransport::accept_all(m);
    };
    auto e = engine(with_concurrency(1));
    EXPECT_EQ(e.flush(), 2U);
    EXPECT_EQ(transport_.batches, std::vector<std::size_t>{2});
    EXPECT_EQ(first_seen, spool::JobState::sent);
    EXPECT_EQ(get(second).state, spool::JobState::sent);
}

TEST_F(EngineTest, TheNextBatchIsTakenWhileOneIsSentAndPutBackOnStop) {
    std::vector<spool::JobId> ids;
    for (int i = 0; i < 4; ++i) ids.push_back(submit());
    std::stop_source stop;
    bool taken_ahead = false;
    transport_.script = [&](const OutgoingMessage& m) {
        if (m.job == ids[0]) {
            // The second batch is claimed while the first is on the wire.
            taken_ahead = events_.await([&](const test::EventLog& log) {
                return log.claims().size() == 2 &&
                       log.claims()[1] == std::vector<spool::JobId>{ids[2], ids[3]};
            });
            EXPECT_EQ(get(ids[2]).state, spool::JobState::sending);
            stop.request_stop();  // serve shutting down
        }
        return test::FakeTransport::accept_all(m);
    };
    auto e = strict_engine([](EngineOptions& o) { o.batch_max = 2; });
    EXPECT_EQ(e.flush("email", stop.get_token()), 2U);
    EXPECT_TRUE(taken_ahead);
    EXPECT_EQ(transport_.batches, std::vector<std::size_t>{2});
    for (std::size_t i : {0U, 1U}) EXPECT_EQ(get(ids[i]).state, spool::JobState::sent);
    for (std::size_t i : {2U, 3U}) {
        // Back as they were: queued, no attempt counted, file still there.
        EXPECT_EQ(get(ids[i]).state, spool::JobState::queued);
        EXPECT_EQ(get(ids[i]).attempts, 0);
    }
    EXPECT_EQ(e.flush(), 2U);
    for (auto id : ids) EXPECT_EQ(get(id).state, spool::JobState::sent);
}

TEST_F(EngineTest, TheFilesOfASentBatchAreClosedOffTheSendingThread) {
    // A sent job's file is unlinked once its result is synced; closing it
    // is then when the file system frees it. That is work for the thread
    // keeping the books, not for the one the connection waits on.
    CloseWatch ops;
    spool_.reset();
    auto sp = storage::open_spool(dir_, ops, clock_, rng_);
    ASSERT_TRUE(sp.ok());
    spool_ = std::move(*sp);
    std::vector<std::string> first_batch;
    for (int i = 0; i < 4; ++i) {
        const auto id = submit();
        if (i < 2) first_batch.push_back(get(id).file);
    }
    std::optional<std::thread::id> sender;
    transport_.script = [&](const OutgoingMessage& m) {
        sender = std::this_thread::get_id();
        return test::FakeTransport::accept_all(m);
    };
    {
        auto e = strict_engine([](EngineOptions& o) { o.batch_max = 2; });
        EXPECT_EQ(e.flush(), 4U);
    }  // before the spool it uses
    EXPECT_EQ(transport_.batches, (std::vector<std::size_t>{2, 2}));
    ASSERT_TRUE(sender);
    for (const auto& f : first_batch) {
        const auto closer = ops.last_closer(f);
        ASSERT_TRUE(closer) << f << " was never opened for sending";
        EXPECT_NE(*closer, *sender) << f << " was closed on the sending thread";
    }
    spool_.reset();  // before `ops`, which it uses
}

TEST_F(EngineTest, AJobIsMarkedGoingOutBeforeItsMessageGoesAndOnlyAFewAhead) {
    // After a crash only marked jobs come back flagged maybe_sent: every
    // message that went out must have been marked first, and few that did
    // not go out may be.
    std::vector<spool::JobId> ids;
    for (int i = 0; i < 30; ++i) ids.push_back(submit());
    bool each_marked = true;
    std::size_t most_ahead = 0;
    transport_.script = [&](const OutgoingMessage& m) {
        if (!get(m.job).on_wire) each_marked = false;
        const auto at = std::find(ids.begin(), ids.end(), m.job);
        std::size_t ahead = 0;
        for (auto it = at + 1; it != ids.end(); ++it) ahead += get(*it).on_wire ? 1U : 0U;
        most_ahead = std::max(most_ahead, ahead);
        return test::FakeTransport::accept_all(m);
    };
    auto e = strict_engine([](EngineOptions& o) { o.mark_ahead = 8; });
    EXPECT_EQ(e.flush(), 30U);
    EXPECT_EQ(transport_.batches, std::vector<std::size_t>{30});
    EXPECT_TRUE(each_marked);
    EXPECT_GT(most_ahead, 0U) << "marked a few at a time, not one commit before each message";
    EXPECT_LE(most_ahead, 8U + 8U / 2U);
}

TEST_F(EngineTest, AJobThatCameWhileABatchWasSentGoesOutInTheSameFlush) {
    // The batch taken ahead found nothing due; the job submitted meanwhile
    // must not wait for the next pass of serve.
    const auto first = submit();
    std::optional<spool::JobId> late;
    transport_.script = [&](const OutgoingMessage& m) {
        if (m.job == first) {
            // Once the look ahead found nothing.
            EXPECT_TRUE(events_.await([](const test::EventLog& log) {
                return log.claims().size() == 2 && log.claims()[1].empty();
            }));
            late = submit();
        }
        return test::FakeTransport::accept_all(m);
    };
    auto e = engine(with_concurrency(1));
    EXPECT_EQ(e.flush(), 2U);
    ASSERT_TRUE(late);
    EXPECT_EQ(get(*late).state, spool::JobState::sent);
    // The look ahead found nothing; the look after the batch found it.
    ASSERT_GE(events_.claims().size(), 3U);
    EXPECT_EQ(events_.claims()[2], std::vector<spool::JobId>{*late});
}

TEST_F(EngineTest, SentMessagesFilesAreRemovedOnceTheirResultsAreSynced) {
    for (int i = 0; i < 5; ++i) submit();
    auto e = engine(with_concurrency(1));
    EXPECT_EQ(e.flush(), 5U);
    std::size_t left = 0;
    for ([[maybe_unused]] const auto& f : fs::directory_iterator(dir_ / "spool" / "msg")) ++left;
    EXPECT_EQ(left, 0U) << "flush returns with every result synced and its file gone";
}

TEST_F(EngineTest, ConcurrencySplitsTheQueueAcrossConnections) {
    for (int i = 0; i < 120; ++i) submit();
    auto e = strict_engine([](EngineOptions& o) {
        o.config = [](const std::string&) { return with_concurrency(3); };
        o.batch_max = 10;
    });
    EXPECT_EQ(e.flush(), 120U);
    EXPECT_EQ(transport_.bodies.size(), 120U) << "each job sent exactly once";
    EXPECT_GE(transport_.connections, 12);
}

TEST_F(EngineTest, TransientFailureRequeuesWithBackoffThenDelivers) {
    const auto id = submit();
    transport_.script = test::FakeTransport::failing(Errc::cannot_connect, "connection refused");
    auto e = engine();
    auto j = e.deliver(id);
    EXPECT_EQ(j->state, spool::JobState::queued);
    EXPECT_EQ(j->code, Errc::cannot_connect);
    EXPECT_EQ(e.flush(), 0U) << "not due yet";
    transport_.script = test::FakeTransport::accept_all;
    clock_.advance(2h);
    EXPECT_EQ(e.flush(), 1U);
    EXPECT_EQ(get(id).state, spool::JobState::sent);
    EXPECT_EQ(get(id).attempts, 2);
}

TEST_F(EngineTest, FailedAttemptKeepsTheTranscript) {
    const auto id = submit();
    transport_.script = test::FakeTransport::failing(Errc::sender_not_allowed, "5.7.60");
    auto e = engine();
    auto j = e.deliver(id);
    EXPECT_EQ(j->state, spool::JobState::failed);
    EXPECT_NE(j->transcript.find("<redacted>"), std::string::npos);
}

TEST_F(EngineTest, HeldJobGoesOutAfterRelease) {
    const auto id = submit();
    transport_.script = test::FakeTransport::failing(Errc::sign_in_again, "invalid_grant");
    auto e = engine();
    EXPECT_EQ(e.deliver(id)->state, spool::JobState::held);
    EXPECT_EQ(e.flush(), 0U) << "held is a resting state";
    transport_.script = test::FakeTransport::accept_all;
    EXPECT_EQ(*e.release("email"), 1U);
    EXPECT_EQ(e.flush(), 1U);
    EXPECT_EQ(get(id).state, spool::JobState::sent);
}

TEST_F(EngineTest, RetryAfterPartialSendsOnlyToRefusedRecipients) {
    const auto id = submit({"ok@example.test", "reject@example.test"});
    transport_.script = [](const OutgoingMessage& m) {
        MessageOutcome o;
        for (const auto& r : m.recipients)
            o.recipients.push_back(
                r.starts_with("reject")
                    ? RecipientOutcome{r, fail(Errc::recipient_rejected, "550"), "550 5.1.1"}
                    : RecipientOutcome{r, std::nullopt, "250 ok"});
        return o;
    };
    auto e = engine();
    EXPECT_EQ(e.deliver(id)->state, spool::JobState::partial);
    ASSERT_TRUE(spool_->retry(id).ok());
    transport_.script = test::FakeTransport::accept_all;
    EXPECT_EQ(e.deliver(id)->state, spool::JobState::sent);
    EXPECT_EQ(transport_.recipients.back(), std::vector<std::string>{"reject@example.test"});
}

TEST_F(EngineTest, DamagedFileIsQuarantinedAndOthersStillGo) {
    const auto bad = submit();
    const auto good = submit();
    const fs::path f = dir_ / "spool" / "msg" / get(bad).file;
    fs::resize_file(f, fs::file_size(f) - 1);
    auto e = engine();
    e.flush();
    EXPECT_EQ(get(bad).state, spool::JobState::failed);
    EXPECT_EQ(get(bad).code, Errc::spool_unwritable);
    EXPECT_EQ(get(good).state, spool::JobState::sent);
    EXPECT_EQ(transport_.bodies.size(), 1U) << "the damaged message never reached the transport";
}

TEST_F(EngineTest, FlushOfOneProfileLeavesOthers) {
    const auto a = submit({"b@example.test"}, "email");
    const auto f = submit({"b@example.test"}, "fax");
    auto e = engine();
    e.flush("fax");
    EXPECT_EQ(get(a).state, spool::JobState::queued);
    EXPECT_EQ(get(f).state, spool::JobState::sent);
}

TEST_F(EngineTest, RunDeliversAndStops) {
    const auto id = submit();
    test::SteppingWaiter waiter(clock_, test::SteppingWaiter::held);
    EngineOptions o;
    o.waiter = &waiter;
    o.observer = &events_;
    Engine e(*spool_, transport_, clock_, rng_, std::move(o));
    std::jthread t([&](std::stop_token st) { e.run(st); });
    EXPECT_TRUE(events_.await_attempt(id, spool::JobState::sent));
    t.request_stop();  // ends the held wait
    t.join();
    EXPECT_EQ(get(id).state, spool::JobState::sent);
}

TEST_F(EngineTest, RunReleasesHeldJobsWhenSignedInAgain) {
    auto held = spool::Submission{spool::Function::scan_to_email,
                                  "email",
                                  "a@example.test",
                                  {"b@example.test"},
                                  "s",
                                  Errc::not_signed_in};
    StringSource body("x");
    const auto id = *spool_->accept(held, body);
    std::atomic<bool> signed_in{false};
    std::atomic<int> asked{0};  // passes that looked at the held job
    test::SteppingWaiter waiter(clock_, test::SteppingWaiter::held);
    EngineOptions o;
    o.waiter = &waiter;
    o.observer = &events_;
    o.sign_in_problem = [&](const std::string&) -> std::optional<Errc> {
        ++asked;
        if (signed_in) return std::nullopt;
        return Errc::not_signed_in;
    };
    Engine e(*spool_, transport_, clock_, rng_, std::move(o));
    std::jthread t([&](std::stop_token st) { e.run(st); });
    // Two whole passes, each of which looked at the held job and left it.
    ASSERT_TRUE(waiter.await_waits(1)) << "the engine made no pass";
    waiter.let_through();
    ASSERT_TRUE(waiter.await_waits(2));
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(get(id).state, spool::JobState::held);
    EXPECT_TRUE(events_.attempts().empty());
    signed_in = true;
    waiter.let_through();
    EXPECT_TRUE(events_.await_attempt(id, spool::JobState::sent));
    t.request_stop();
    t.join();
    EXPECT_EQ(get(id).state, spool::JobState::sent);
}

TEST_F(EngineTest, AJobAcceptedWhileRunWaitsGoesOutWithoutWaitingForThePoll) {
    test::SteppingWaiter waiter(clock_, test::SteppingWaiter::held);  // never let through
    EngineOptions o;
    o.waiter = &waiter;
    o.observer = &events_;
    Engine e(*spool_, transport_, clock_, rng_, std::move(o));
    std::jthread t([&](std::stop_token st) { e.run(st); });
    ASSERT_TRUE(waiter.await_waits(1));
    const auto id = submit();
    e.wake();  // what intake does for serve
    EXPECT_TRUE(events_.await_attempt(id, spool::JobState::sent));
    EXPECT_TRUE(waiter.await_waits(2)) << "a second pass, without a poll";
    t.request_stop();
    t.join();
}

// While a worker is busy with a queue of due jobs, run() naps until its
// poll: the jobs are the worker's. It used to take the due jobs' time as its
// wake-up, already past, and query the spool in a loop at full CPU for as
// long as the worker was busy (serve relaying 500 messages took minutes).
TEST_F(EngineTest, RunNapsWhileItsWorkerIsBusyWithDueJobs) {
    std::vector<spool::JobId> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(submit());
    std::promise<void> gate;
    const std::shared_future<void> open = gate.get_future().share();
    transport_.script = [&](const OutgoingMessage& m) {
        open.wait();  // the worker stays busy until the test has looked
        return test::FakeTransport::accept_all(m);
    };
    test::SteppingWaiter waiter(clock_, test::SteppingWaiter::held);
    EngineOptions o;
    o.waiter = &waiter;
    o.observer = &events_;
    o.batch_max = 1;
    o.config = [](const std::string&) { return with_concurrency(1); };
    Engine e(*spool_, transport_, clock_, rng_, std::move(o));
    std::jthread t([&](std::stop_token st) { e.run(st); });
    ASSERT_TRUE(waiter.await_waits(1)) << "the engine made no pass";
    EXPECT_EQ(waiter.naps().front(), EngineOptions{}.poll)
        << "run() did not nap while its worker had the due jobs";
    gate.set_value();
    for (auto id : ids) EXPECT_TRUE(events_.await_attempt(id, spool::JobState::sent));
    t.request_stop();
    t.join();
}

// A send that takes longer than a lease (a large scan on a slow line) keeps
// its claim: the engine renews it while the message is on its way, so no
// other deliverer takes the job back and sends it a second time.
TEST_F(EngineTest, ALongSendKeepsItsLeaseRenewed) {
    const auto id = submit();
    std::promise<void> started;
    std::promise<void> gate;
    const std::shared_future<void> open = gate.get_future().share();
    transport_.script = [&](const OutgoingMessage& m) {
        started.set_value();
        open.wait();
        return test::FakeTransport::accept_all(m);
    };
    auto e = strict_engine([](EngineOptions& o) { o.lease_renewal = 5ms; });
    std::jthread sender([&] { (void)e.deliver(id); });
    started.get_future().wait();
    clock_.advance(spool::kLeaseLength * 10);  // the send goes on for ten leases
    const auto renewed = [&] {
        const auto j = get(id);
        return j.lease_until && *j.lease_until >= clock_.now() + spool::kLeaseLength / 2;
    };
    for (int i = 0; i < 1000 && !renewed(); ++i) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(renewed()) << "the lease ran out while the message was being sent";
    EXPECT_EQ(get(id).owner, spool_->owner());
    gate.set_value();
    sender.join();
    EXPECT_EQ(get(id).state, spool::JobState::sent);
}

TEST_F(EngineTest, ARateLimitedFlushWaitsOnTheEnginesClock) {
    std::vector<spool::JobId> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(submit());
    test::SteppingWaiter waiter(clock_);  // lets every wait through, moving the clock
    const auto start = clock_.now();
    auto e = strict_engine([&](EngineOptions& o) {
        o.config = [](const std::string&) {
            ProfileConfig c = with_concurrency(1);
            c.rate_limit = 2;
            return c;
        };
        o.waiter = &waiter;
    });
    EXPECT_EQ(e.flush(), 5U);
    EXPECT_EQ(transport_.batches, (std::vector<std::size_t>{2, 2, 1}));
    EXPECT_EQ(waiter.waits(), 2) << "one wait for each full window";
    EXPECT_GE(clock_.now() - start, 2min);
    for (auto id : ids) EXPECT_EQ(get(id).state, spool::JobState::sent);
}

TEST_F(EngineTest, RateLimitedWorkersHoldSlotsOnlyForTheJobsTheyHave) {
    // Hostile-LAN table, rate-limiter row: with 30 a minute, jobs 3-7
    // accepted within seconds all went out a minute after job 2, because
    // each worker reserved batch_max slots before it knew how many jobs
    // there were, and the others slept a minute on a window full of slots
    // nobody used.
    for (int i = 0; i < 7; ++i) submit();
    test::SteppingWaiter waiter(clock_);
    const auto start = clock_.now();
    auto e = strict_engine([&](EngineOptions& o) {
        o.config = [](const std::string&) {
            ProfileConfig c = with_concurrency(3);
            c.rate_limit = 30;
            return c;
        };
        o.batch_max = 50;
        o.waiter = &waiter;
    });
    EXPECT_EQ(e.flush(), 7U);
    EXPECT_EQ(waiter.waits(), 0) << "a worker waited for slots while 23 were free";
    EXPECT_EQ(clock_.now(), start);
    // Two more after the seven, within the same minute: still no wait.
    submit();
    submit();
    EXPECT_EQ(e.flush(), 2U);
    EXPECT_EQ(waiter.waits(), 0);
}

TEST(RateLimiter, TakesOnlyTheSlotsOfWhatWasClaimed) {
    test::ManualClock clock;
    RateLimiter rl(30);
    std::size_t offered = 0;
    EXPECT_EQ(rl.take(clock.now(), 50,
                      [&](std::size_t n) {
                          offered = n;
                          return std::size_t{7};
                      }),
              7U);
    EXPECT_EQ(offered, 30U) << "offered what is free, not more";
    EXPECT_EQ(rl.acquire(clock.now(), 50), 23U);
    EXPECT_EQ(rl.take(clock.now(), 1,
                      [](std::size_t) -> std::size_t {
                          ADD_FAILURE() << "asked to claim with the window full";
                          return 0;
                      }),
              0U);
}

TEST_F(EngineTest, EveryAttemptIsReportedOnceWithWhatItCameToAfterItIsCommitted) {
    // The delivery log and the metrics are made from these reports: each
    // attempt once, whatever its outcome, and never before the history
    // shows it.
    const auto ok = submit({"ok@example.test"});
    const auto refused = submit({"no@example.test"});
    const auto later = submit({"later@example.test"});
    transport_.script = [](const OutgoingMessage& m) {
        const std::string& r = m.recipients.at(0);
        if (r.starts_with("no"))
            return MessageOutcome{{}, fail(Errc::sender_not_allowed, "5.7.60"), false};
        if (r.starts_with("later"))
            return MessageOutcome{{}, fail(Errc::cannot_connect, "refused"), false};
        return test::FakeTransport::accept_all(m);
    };
    struct InHistory final : Observer {
        spool::Spool* spool = nullptr;
        std::mutex mu;
        std::map<spool::JobId, std::vector<spool::JobState>> seen;
        void attempted(const spool::Job& job, const spool::Attempt& a) override {
            std::lock_guard lock(mu);
            EXPECT_EQ((*spool->job(job.id))->state, a.state) << "reported before it was committed";
            seen[job.id].push_back(a.state);
        }
    } observer;
    observer.spool = spool_.get();
    auto e = strict_engine([&](EngineOptions& o) { o.observer = &observer; });
    EXPECT_EQ(e.flush(), 3U);
    using S = spool::JobState;
    EXPECT_EQ(observer.seen, (std::map<spool::JobId, std::vector<S>>{
                                 {ok, {S::sent}}, {refused, {S::failed}}, {later, {S::queued}}}));
}

TEST(RateLimiter, AllowsTheLimitInAnyMinute) {
    test::ManualClock clock;
    RateLimiter rl(30);
    EXPECT_EQ(rl.acquire(clock.now(), 50), 30U);
    EXPECT_EQ(rl.acquire(clock.now(), 1), 0U);
    ASSERT_TRUE(rl.next_free(clock.now()).has_value());
    EXPECT_EQ(*rl.next_free(clock.now()), clock.now() + 1min);
    clock.advance(59s);
    EXPECT_EQ(rl.acquire(clock.now(), 1), 0U);
    clock.advance(1s);
    EXPECT_EQ(rl.acquire(clock.now(), 50), 30U);
}

TEST(RateLimiter, ReleaseGivesSlotsBack) {
    test::ManualClock clock;
    RateLimiter rl(5);
    EXPECT_EQ(rl.acquire(clock.now(), 5), 5U);
    rl.release(3);
    EXPECT_EQ(rl.acquire(clock.now(), 5), 3U);
}

TEST(RateLimiter, ZeroMeansUnlimited) {
    test::ManualClock clock;
    RateLimiter rl(0);
    EXPECT_EQ(rl.acquire(clock.now(), 1000), 1000U);
    EXPECT_FALSE(rl.next_free(clock.now()).has_value());
}

TEST(LockFile, SecondHolderIsRefusedUntilTheFirstLets) {
    const fs::path p = fs::temp_directory_path() / ("pb-lock-" + std::to_string(::getpid()));
    {
        auto a = LockFile::acquire(p, LockFile::Mode::try_once);
        ASSERT_TRUE(a.ok() && a->has_value());
        auto b = LockFile::acquire(p, LockFile::Mode::wait, 50ms);
        ASSERT_TRUE(b.ok());
        EXPECT_FALSE(b->has_value());
    }
    auto c = LockFile::acquire(p, LockFile::Mode::try_once);
    EXPECT_TRUE(c.ok() && c->has_value());
    fs::remove(p);
}

TEST(LockFile, ServeRunningFollowsTheServeLock) {
    const fs::path d = fs::temp_directory_path() / ("pb-serve-" + std::to_string(::getpid()));
    fs::create_directories(d);
    EXPECT_FALSE(*serve_running(d));
    {
        auto held = LockFile::acquire(serve_lock_path(d), LockFile::Mode::try_once);
        EXPECT_TRUE(*serve_running(d));
    }
    EXPECT_FALSE(*serve_running(d));
    fs::remove_all(d);
}

}  // namespace
}  // namespace pb::delivery
