// Delivery workers (engine.hpp).
#include "delivery/engine.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <list>
#include <thread>
#include <utility>
#include <vector>

#include "core/thread.hpp"

namespace pb::delivery {

void ClockWaiter::wait_until(TimePoint t, std::stop_token stop) {
    const auto left = t - clock_.now();
    if (left <= Duration::zero()) return;
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, left, [] { return false; });
}

namespace {

// A message's reader that tells the observer how far the transport has read.
class Progress final : public ByteSource {
  public:
    Progress(std::unique_ptr<ByteSource> in, const spool::Job& job, Observer& observer)
        : in_(std::move(in)), job_(job), observer_(observer) {}
    Result<std::size_t> read(std::span<char> out) override {
        auto n = in_->read(out);
        if (n && *n > 0) observer_.progress(job_, read_ += *n, job_.size);
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return in_->size_hint(); }

  private:
    std::unique_ptr<ByteSource> in_;
    const spool::Job& job_;
    Observer& observer_;
    std::uint64_t read_ = 0;
};

}  // namespace

// A claimed batch with its messages opened, ready for the transport.
struct Engine::Batch {
    ProfileConfig cfg;
    Observer* observer = nullptr;  // told of each message's progress; may be null
    std::vector<spool::Job> jobs;  // claimed; `sent` points into it
    std::vector<std::unique_ptr<ByteSource>> readers;
    std::vector<OutgoingMessage> out;
    std::vector<const spool::Job*> sent;
    std::size_t opened = 0;  // jobs [0, opened) have been through open()

    // Opens the message of jobs[opened]; false once every one was. A damaged
    // file is quarantined by the spool and its job failed there: it is
    // left out of the batch.
    bool open_next(spool::Spool& spool) {
        if (opened == jobs.size()) return false;
        const spool::Job& j = jobs[opened++];
        auto opened_reader = spool.open_message(j);
        if (!opened_reader) return true;
        std::unique_ptr<ByteSource> reader = std::move(*opened_reader);
        if (observer) reader = std::make_unique<Progress>(std::move(reader), j, *observer);
        OutgoingMessage m{j.id, j.sender, {}, reader.get(), j.size, {}};
        m.dsn_notify = j.dsn_notify;
        m.dsn_ret = j.dsn_ret;
        // Graph reads a large message again for its uploads: each pass is
        // reported from its start.
        m.reopen = [&spool, &j, o = observer]() -> Result<std::unique_ptr<ByteSource>> {
            auto again = spool.open_message(j);
            if (!again) return std::move(again).error();
            std::unique_ptr<ByteSource> r = std::move(*again);
            if (o) r = std::make_unique<Progress>(std::move(r), j, *o);
            return r;
        };
        for (const auto& r : j.recipients)
            if (r.result == spool::RecipientResult::pending) m.recipients.push_back(r.address);
        readers.push_back(std::move(reader));
        out.push_back(std::move(m));
        sent.push_back(&j);
        return true;
    }
    void open_all(spool::Spool& spool) {
        while (open_next(spool)) {
        }
    }
};

// The books of every connection, kept on two threads of their own so that
// the sending threads wait for them only where a promise about crashes says
// they must (Sending).
//
// The clerk commits what the senders hand over (results, and jobs marked
// as going out), together with whatever other connections handed over
// meanwhile, one transaction at a time with its sync deferred. Between
// commits it does chores in small steps: claiming a connection's next batch
// and opening its files, and closing the files of a sent batch (unlinked by
// then, so closing is when the file system frees them, a tenth of a
// millisecond each). A commit never waits for more than one step.
//
// The syncer makes the deferred commits durable sync_interval after they
// were written (one sync for every commit of those milliseconds), then
// removes the message files of sent jobs. A power cut can so undo the last
// few milliseconds of claims and results, whose jobs are sent again; the
// death of the process undoes nothing.
class Engine::Books {
  public:
    using Ticket = std::uint64_t;
    // Does a piece of work; true while there is more of it.
    using Chore = std::function<bool()>;

    explicit Books(Engine& e)
        : e_(e),
          clerk_([this] {
              name_this_thread("pb-clerk");
              clerk();
          }),
          syncer_([this](std::stop_token done) {
              name_this_thread("pb-sync");
              syncer(done);
          }) {}
    Books(const Books&) = delete;
    Books& operator=(const Books&) = delete;
    // Finishes everything handed over, makes it durable, then returns.
    ~Books() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        work_.notify_one();
        clerk_.join();
        syncer_.request_stop();
        syncer_.join();
        if (auto r = e_.spool_.sync(); !r) e_.opt_.on_error(r.error());
        e_.spool_.remove_freed();
    }

    // Hands over `result` (of the job it points to, which stays alive until
    // wait() returns for the ticket) and jobs marked as going out, for the
    // next commit.
    Ticket record(const spool::Job* job, std::optional<spool::Attempt> result,
                  std::vector<spool::JobId> going_out) {
        Ticket t = 0;
        {
            std::lock_guard lock(mu_);
            if (result) {
                jobs_.push_back(job);
                results_.emplace_back(job->id, std::move(*result));
            }
            going_out_.insert(going_out_.end(), going_out.begin(), going_out.end());
            t = ++handed_;
        }
        work_.notify_one();
        return t;
    }
    // Until what `t` handed over, and all before it, is committed.
    void wait(Ticket t) {
        std::unique_lock lock(mu_);
        committed_cv_.wait(lock, [&] { return committed_ >= t; });
    }
    void chore(Chore c) {
        {
            std::lock_guard lock(mu_);
            chores_.push_back(std::move(c));
        }
        work_.notify_one();
    }
    // Something was committed with its sync deferred (a claim).
    void written() {
        {
            std::lock_guard lock(mu_);
            unsynced_ = true;
        }
        sync_cv_.notify_one();
    }

  private:
    void clerk() {
        std::unique_lock lock(mu_);
        for (;;) {
            work_.wait(lock, [this] { return done_ || handed_ > committed_ || !chores_.empty(); });
            if (handed_ > committed_) {
                const Ticket upto = handed_;
                auto jobs = std::exchange(jobs_, {});
                auto results = std::exchange(results_, {});
                auto going_out = std::exchange(going_out_, {});
                lock.unlock();
                commit(jobs, results, going_out);
                lock.lock();
                committed_ = upto;
                committed_cv_.notify_all();
            } else if (!chores_.empty()) {
                Chore& c = chores_.front();  // stays put: only this thread pops
                lock.unlock();
                const bool more = c();
                lock.lock();
                if (!more) chores_.pop_front();
            } else {
                return;  // done_, and nothing left
            }
        }
    }

    void commit(const std::vector<const spool::Job*>& jobs,
                const std::vector<std::pair<spool::JobId, spool::Attempt>>& results,
                const std::vector<spool::JobId>& going_out) {
        if (auto r = e_.spool_.finish_attempts(results, spool::Durability::deferred, going_out);
            !r) {
            e_.opt_.on_error(r.error());
            return;
        }
        written();
        for (std::size_t i = 0; i < results.size(); ++i)
            e_.observer_.attempted(*jobs[i], results[i].second);
    }

    // Also renews the spool's leases (spool.hpp) every lease_renewal, busy
    // or idle, so that no claim of a live engine runs out while it sends.
    void syncer(std::stop_token done) {
        using steady = std::chrono::steady_clock;
        auto renew_at = steady::now() + e_.opt_.lease_renewal;
        std::unique_lock lock(mu_);
        for (;;) {
            sync_cv_.wait_until(lock, done, renew_at, [this] { return unsynced_; });
            if (done.stop_requested()) return;  // ~Books syncs the rest
            if (unsynced_) {
                // The commits of the next few milliseconds share this sync.
                sync_cv_.wait_for(lock, done, e_.opt_.sync_interval, [] { return false; });
                unsynced_ = false;
                lock.unlock();
                if (auto r = e_.spool_.sync(); !r) e_.opt_.on_error(r.error());
                e_.spool_.remove_freed();
                lock.lock();
            }
            if (steady::now() >= renew_at) {
                lock.unlock();
                if (auto r = e_.spool_.renew_leases(); !r) e_.opt_.on_error(r.error());
                lock.lock();
                renew_at = steady::now() + e_.opt_.lease_renewal;
            }
        }
    }

    Engine& e_;
    std::mutex mu_;
    std::condition_variable work_;          // handed over, a chore, or done
    std::condition_variable committed_cv_;  // committed_ moved
    std::condition_variable_any sync_cv_;   // unsynced_, or the syncer's stop
    Ticket handed_ = 0, committed_ = 0;
    std::vector<const spool::Job*> jobs_;  // of results_, one each
    std::vector<std::pair<spool::JobId, spool::Attempt>> results_;
    std::vector<spool::JobId> going_out_;
    std::deque<Chore> chores_;  // a deque: push_back leaves front() where it is
    bool unsynced_ = false;
    bool done_ = false;
    std::jthread clerk_;   // last two: started once the members above exist
    std::jthread syncer_;  //
};

// One batch on the wire, as its books see it.
//
// Its jobs are marked as going out a window ahead of the message being sent
// (mark_ahead, refilled when half of it is used), and a message goes out
// only once its mark is committed: after a crash only marked jobs come back
// flagged maybe_sent. The result of a message the server answered without a
// session error is handed to the clerk at once, and the next answer waits
// for that commit: the death of the process can leave at most two delivered
// messages of a connection unrecorded. The other messages are recorded when
// the batch ends, with its transcript.
class Engine::Sending {
  public:
    Sending(Engine& e, Batch& b)
        : e_(e),
          books_(e.books()),
          b_(b),
          ahead_(std::max<std::size_t>(e.opt_.mark_ahead, 2)),
          recorded_(b.sent.size(), false) {}

    // Before the first message: its window marked and committed.
    void start() {
        books_.wait(books_.record(nullptr, std::nullopt, next_window()));
        durable_ = marked_;
        since_ = e_.clock_.now();
    }

    // The server answered message `i` (Transport::Done); the next one goes
    // out when this returns.
    void answered(std::size_t i, const MessageOutcome& mo) {
        const std::size_t n = b_.sent.size();
        if (i >= n) return;
        std::vector<spool::JobId> marks;
        if (marked_ < n && i + 1 + ahead_ / 2 >= marked_) marks = next_window();
        std::optional<spool::Attempt> result;
        const auto now = e_.clock_.now();
        if (!mo.error && !mo.maybe_sent) {
            result = settle(*b_.sent[i], mo, {}, now, b_.cfg.retry, e_.rng_);
            result->elapsed = now - since_;
            recorded_[i] = true;
        }
        since_ = now;
        if (result || !marks.empty()) {
            const std::size_t before = marked_ - marks.size();
            books_.wait(last_);  // the previous result first: at most one in flight
            durable_ = before;
            last_ = books_.record(b_.sent[i], std::move(result), std::move(marks));
        }
        if (i + 1 < n && i + 1 >= durable_) {
            books_.wait(last_);
            durable_ = marked_;
        }
    }

    // After the transport returned: the messages without an early result,
    // recorded with the batch's transcript once the early ones are.
    void finish(const BatchOutcome& outcome) {
        books_.wait(last_);
        const auto now = e_.clock_.now();
        for (std::size_t i = 0; i < b_.sent.size(); ++i) {
            if (recorded_[i]) continue;
            const MessageOutcome none{
                {}, fail(Errc::mail_service_unavailable, "the transport gave no result"), false};
            const MessageOutcome& mo = i < outcome.messages.size() ? outcome.messages[i] : none;
            const spool::Job& job = *b_.sent[i];
            auto attempt = settle(job, mo, outcome.transcript, now, b_.cfg.retry, e_.rng_);
            // Since the last answer: for the first message, the connection's
            // setup; for a batch that failed, all of it went to the first.
            attempt.elapsed = now - since_;
            since_ = now;
            if (auto r = e_.spool_.finish_attempt(job.id, attempt); !r) {
                e_.opt_.on_error(r.error());
                continue;
            }
            e_.observer_.attempted(job, attempt);
        }
    }

  private:
    // Marks the next window: jobs [marked_, marked_ + ahead_).
    std::vector<spool::JobId> next_window() {
        std::vector<spool::JobId> ids;
        for (const std::size_t end = std::min(b_.sent.size(), marked_ + ahead_); marked_ < end;
             ++marked_)
            ids.push_back(b_.sent[marked_]->id);
        return ids;
    }

    Engine& e_;
    Books& books_;
    Batch& b_;
    const std::size_t ahead_;
    std::size_t marked_ = 0;   // jobs [0, marked_) handed over as going out
    std::size_t durable_ = 0;  // jobs [0, durable_) committed as going out
    Books::Ticket last_ = 0;   // the latest handed over
    std::vector<bool> recorded_;
    TimePoint since_{};  // the last answer, or the batch's start: elapsed counts from it
};

Engine::Engine(spool::Spool& spool, Transport& transport, const Clock& clock, Random& rng,
               EngineOptions options)
    : spool_(spool),
      transport_(transport),
      clock_(clock),
      rng_(rng),
      opt_(std::move(options)),
      own_waiter_(opt_.waiter ? nullptr : std::make_unique<ClockWaiter>(clock)),
      waiter_(opt_.waiter ? *opt_.waiter : *own_waiter_),
      observer_(opt_.observer ? *opt_.observer : no_observer_) {}

Engine::~Engine() = default;  // ~Books: everything recorded is committed and synced

Engine::Books& Engine::books() {
    std::lock_guard lock(mu_);
    if (!books_) books_ = std::make_unique<Books>(*this);
    return *books_;
}

RateLimiter& Engine::limiter(const std::string& profile, int limit) {
    std::lock_guard lock(mu_);
    auto& slot = limiters_[profile];
    // A changed rate_limit starts a new window rather than reinterpreting the old one.
    if (!slot.second || slot.first != limit) slot = {limit, std::make_unique<RateLimiter>(limit)};
    return *slot.second;
}

std::optional<Engine::Batch> Engine::take_batch(const std::string& profile,
                                                std::optional<spool::JobId> only, bool may_wait,
                                                std::stop_token stop) {
    while (!stop.stop_requested()) {
        Batch b;
        b.cfg = opt_.config(profile);
        b.observer = opt_.observer;
        RateLimiter& rl = limiter(profile, b.cfg.rate_limit);
        const std::size_t want = only ? 1 : std::max<std::size_t>(opt_.batch_max, 1);
        Result<std::vector<spool::Job>> jobs = std::vector<spool::Job>{};
        const std::size_t got = rl.take(clock_.now(), want, [&](std::size_t n) {
            jobs = spool_.claim(profile, n, only, spool::Durability::deferred);
            return jobs ? jobs->size() : 0;
        });
        if (!jobs) {
            opt_.on_error(jobs.error());
            return Batch{};
        }
        if (got == 0 && b.cfg.rate_limit > 0) {
            if (auto t = rl.next_free(clock_.now())) {  // the window is full
                if (!may_wait) return std::nullopt;
                waiter_.wait_until(*t, stop);
                continue;
            }
        }
        books().written();
        b.jobs = std::move(*jobs);
        observer_.claimed(profile, b.jobs);
        return std::optional<Batch>(std::move(b));
    }
    return std::nullopt;
}

std::size_t Engine::send_batch(const std::string& profile, Batch& b) {
    if (b.out.empty()) return 0;
    Sending books(*this, b);
    books.start();
    BatchOutcome outcome = transport_.send(
        profile, b.out, [&](std::size_t i, const MessageOutcome& mo) { books.answered(i, mo); });
    books.finish(outcome);
    return b.sent.size();
}

std::size_t Engine::work(const std::string& profile, std::optional<spool::JobId> only,
                         std::stop_token stop) {
    // The next batch is claimed and its files opened by the clerk while this
    // one is sent, so the connection never waits for the spool between
    // batches; the clerk also lets go of the batch sent before.
    struct Ahead {
        std::optional<Batch> sent;  // its readers are closed one a step
        std::optional<Batch> next;
        bool looked = false;
        std::promise<std::optional<Batch>> done;
    };
    auto take_ahead = [&](std::optional<Batch> sent) {
        auto a = std::make_shared<Ahead>();
        a->sent = std::move(sent);
        auto future = a->done.get_future();
        books().chore([this, a, &profile, stop]() -> bool {
            if (a->sent && !a->sent->readers.empty()) {
                a->sent->readers.pop_back();
                return true;
            }
            if (!a->looked) {
                a->looked = true;
                a->next = take_batch(profile, std::nullopt, false, stop);
                return true;
            }
            if (a->next && a->next->open_next(spool_)) return true;
            a->done.set_value(std::move(a->next));
            return false;
        });
        return future;
    };

    std::future<std::optional<Batch>> ahead;
    std::optional<Batch> sent;
    std::size_t done = 0;
    while (!stop.stop_requested()) {
        std::optional<Batch> b;
        if (ahead.valid()) b = ahead.get();
        // Nothing taken ahead (rate-limited, or nothing was due then): look
        // now, for jobs that came while the last batch was sent.
        if (!b || b->jobs.empty()) {
            b = take_batch(profile, only, true, stop);
            if (b) b->open_all(spool_);
        }
        if (!b || b->jobs.empty()) break;
        if (!only) ahead = take_ahead(std::exchange(sent, std::nullopt));
        done += send_batch(profile, *b);
        sent = std::move(b);
        if (only) break;
    }
    if (ahead.valid()) {  // stopped with a batch taken ahead: it goes back
        if (auto left = ahead.get(); left && !left->jobs.empty()) {
            std::vector<spool::JobId> ids;
            for (const auto& j : left->jobs) ids.push_back(j.id);
            if (auto r = spool_.unclaim(ids); !r) opt_.on_error(r.error());
            limiter(profile, left->cfg.rate_limit).release(ids.size());
        }
    }
    // Returns with every result durable and the files of sent jobs gone.
    if (auto r = spool_.sync(); !r) opt_.on_error(r.error());
    spool_.remove_freed();
    return done;
}

Result<spool::Job> Engine::deliver(spool::JobId id) {
    auto job = spool_.job(id);
    if (!job) return job.error();
    if (!*job) return fail(Errc::invalid_input, "there is no job " + std::to_string(id));
    if ((*job)->state == spool::JobState::queued) work((*job)->profile, id, {});
    auto after = spool_.job(id);
    if (!after) return after.error();
    if (!*after) return fail(Errc::invalid_input, "job " + std::to_string(id) + " was removed");
    return **after;
}

std::size_t Engine::flush(std::optional<std::string> profile, std::stop_token stop) {
    std::vector<std::string> profiles;
    if (profile) {
        profiles.push_back(*profile);
    } else if (auto due = spool_.due_profiles()) {
        profiles = std::move(*due);
    } else {
        opt_.on_error(due.error());
    }
    std::atomic<std::size_t> total{0};
    {
        std::vector<std::jthread> workers;
        for (const auto& p : profiles) {
            const int n = std::max(1, opt_.config(p).concurrency);
            for (int i = 0; i < n; ++i)
                workers.emplace_back([this, p, stop, &total] {
                    name_this_thread("pb-send");
                    total += work(p, std::nullopt, stop);
                });
        }
    }
    return total;
}

Result<std::size_t> Engine::release(const std::string& profile) {
    return spool_.release_held(profile);
}

void Engine::wake() {
    std::lock_guard lock(mu_);
    if (nap_)
        nap_->request_stop();
    else
        woken_ = true;
}

void Engine::run(std::stop_token stop) {
    // Each pass tops up every profile with due jobs to its concurrency of
    // workers; a worker ends when nothing of its profile is due.
    struct Worker {
        std::string profile;
        std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
        std::jthread thread;
    };
    std::list<Worker> workers;
    auto last_prune = TimePoint{};
    auto last_recovery = clock_.now();  // the caller recovered as it started
    while (!stop.stop_requested()) {
        workers.remove_if([](const Worker& w) { return w.done->load(); });  // joins the finished
        const auto now = clock_.now();
        if (now - last_prune >= std::chrono::hours{1}) {
            if (auto r = spool_.prune(opt_.retention()); !r) opt_.on_error(r.error());
            last_prune = now;
        }
        // Another deliverer on the queue may have died meanwhile: its jobs
        // come back here, not only when a deliverer starts.
        if (now - last_recovery >= opt_.recovery_interval || now < last_recovery) {
            if (auto n = spool_.recover_expired(); !n)
                opt_.on_error(n.error());
            else if (*n > 0)
                wake();
            last_recovery = now;
        }
        if (opt_.sign_in_problem) {
            if (auto held = spool_.held_profiles()) {
                for (const auto& p : *held)
                    if (release_held(opt_.sign_in_problem(p))) (void)release(p);
            }
        }
        if (auto due = spool_.due_profiles()) {
            for (const auto& p : *due) {
                auto running = std::count_if(workers.begin(), workers.end(),
                                             [&](const Worker& w) { return w.profile == p; });
                for (; running < std::max(1, opt_.config(p).concurrency); ++running) {
                    Worker& w = workers.emplace_back();
                    w.profile = p;
                    w.thread = std::jthread([this, p, stop, done = w.done] {
                        name_this_thread("pb-send");
                        const std::size_t sent = work(p, std::nullopt, stop);
                        *done = true;
                        // A pass joins it, and starts another for jobs that
                        // came as it ended; one that sent nothing (nothing
                        // due, or the spool failing) leaves that to the poll.
                        if (sent > 0) wake();
                    });
                }
            }
        } else {
            opt_.on_error(due.error());
        }
        transport_.tidy();  // connections kept idle too long are closed

        // Jobs due now belong to the workers just started or still running
        // (a worker that ends wakes this loop): only a job falling due later
        // shortens the nap. Counting the due ones too made this loop spin,
        // querying the spool, for as long as workers were busy.
        const TimePoint looked = clock_.now();
        TimePoint until = looked + opt_.poll;
        if (auto next = spool_.next_due(std::nullopt, looked); next && *next && **next < until)
            until = **next;
        std::stop_source nap;
        {
            std::lock_guard lock(mu_);
            if (std::exchange(woken_, false)) continue;
            nap_ = &nap;
        }
        {
            std::stop_callback stopping(stop, [&nap] { nap.request_stop(); });
            waiter_.wait_until(until, nap.get_token());
        }
        std::lock_guard lock(mu_);
        nap_ = nullptr;
    }
    // Destroying the workers joins them: each finishes its batch and records
    // it before serve exits.
}

}  // namespace pb::delivery
