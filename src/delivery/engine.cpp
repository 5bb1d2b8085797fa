// Delivery workers (engine.hpp).
#include "delivery/engine.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/thread.hpp"

namespace pb::delivery {

Engine::Engine(spool::Spool& spool, Transport& transport, const Clock& clock, Random& rng,
               EngineOptions options)
    : spool_(spool), transport_(transport), clock_(clock), rng_(rng), opt_(std::move(options)) {}

RateLimiter& Engine::limiter(const std::string& profile, int limit) {
    std::lock_guard lock(mu_);
    auto& slot = limiters_[profile];
    // A changed rate_limit starts a new window rather than reinterpreting the old one.
    if (!slot.second || slot.first != limit) slot = {limit, std::make_unique<RateLimiter>(limit)};
    return *slot.second;
}

void Engine::wait_until(TimePoint t, std::stop_token stop) {
    // The injected clock says how long; the wait itself is real time, cut
    // short by a stop request.
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    const auto left = t - clock_.now();
    if (left <= Duration::zero()) return;
    cv.wait_for(lock, stop, left, [] { return false; });
}

namespace {

// How much lower than a sending thread the threads that keep its books run
// (nice levels): the recorder, the syncer and the one taking the next batch.
// The connection's round trips are the throughput; their work fits in the
// gaps, and when it does not, the sender waits for them (Recorder::add, the
// next batch), so none of it can fall behind for long.
constexpr int kBookkeeping = 10;

// Records delivered messages, and marks jobs as going out, on a thread of
// its own (see send_batch): what add() is given is committed in order, a
// transaction at a time, its sync deferred (see work()). Destroying it waits
// until all of it is committed.
class Recorder {
  public:
    using Delivered = std::pair<spool::JobId, spool::Attempt>;

    Recorder(spool::Spool& spool, const std::function<void(const Error&)>& on_error)
        : spool_(spool), on_error_(on_error), thread_([this] {
              name_this_thread("pb-record");
              lower_this_thread_priority(kBookkeeping);
              loop();
          }) {}
    Recorder(const Recorder&) = delete;
    Recorder& operator=(const Recorder&) = delete;
    ~Recorder() {
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        cv_.notify_one();
        thread_.join();
    }
    // Waits until what was added before is committed: the commit of one
    // message overlaps the sending of the next, never more, so the death of
    // the process can leave at most two delivered messages of a connection
    // unrecorded.
    void add(std::optional<Delivered> result, std::vector<spool::JobId> going_out) {
        {
            std::unique_lock lock(mu_);
            idle_.wait(lock, [this] { return idle(); });
            if (result) results_.push_back(std::move(*result));
            going_out_ = std::move(going_out);
        }
        cv_.notify_one();
    }
    // Waits until everything added is committed.
    void wait() {
        std::unique_lock lock(mu_);
        idle_.wait(lock, [this] { return idle(); });
    }

  private:
    bool idle() const { return results_.empty() && going_out_.empty() && !committing_; }

    void loop() {
        std::unique_lock lock(mu_);
        for (;;) {
            cv_.wait(lock, [this] { return done_ || !results_.empty() || !going_out_.empty(); });
            if (results_.empty() && going_out_.empty()) return;  // done_
            std::vector<Delivered> results;
            std::vector<spool::JobId> going_out;
            results.swap(results_);
            going_out.swap(going_out_);
            committing_ = true;
            lock.unlock();
            if (auto r = spool_.finish_attempts(results, spool::Durability::deferred, going_out);
                !r)
                on_error_(r.error());
            lock.lock();
            committing_ = false;
            idle_.notify_all();
        }
    }

    spool::Spool& spool_;
    const std::function<void(const Error&)>& on_error_;
    std::mutex mu_;
    std::condition_variable cv_;    // something to commit, or done
    std::condition_variable idle_;  // nothing waiting or being committed
    bool done_ = false;
    bool committing_ = false;
    std::vector<Delivered> results_;
    std::vector<spool::JobId> going_out_;
    std::thread thread_;  // last: started once the members above exist
};

}  // namespace

// A claimed batch with its messages opened, ready for the transport.
struct Engine::Batch {
    ProfileConfig cfg;
    std::vector<spool::Job> jobs;  // claimed; `sent` points into it
    std::vector<std::unique_ptr<spool::SpoolReader>> readers;
    std::vector<OutgoingMessage> out;
    std::vector<const spool::Job*> sent;
};

std::optional<Engine::Batch> Engine::take_batch(const std::string& profile,
                                                std::optional<spool::JobId> only, bool may_wait,
                                                std::stop_token stop) {
    while (!stop.stop_requested()) {
        Batch b;
        b.cfg = opt_.config(profile);
        RateLimiter& rl = limiter(profile, b.cfg.rate_limit);
        const std::size_t want = only ? 1 : std::max<std::size_t>(opt_.batch_max, 1);
        const std::size_t got = rl.acquire(clock_.now(), want);
        if (got == 0) {
            if (!may_wait) return std::nullopt;
            if (auto t = rl.next_free(clock_.now())) wait_until(*t, stop);
            continue;
        }
        auto jobs = spool_.claim(profile, got, only, spool::Durability::deferred);
        if (!jobs) {
            rl.release(got);
            opt_.on_error(jobs.error());
            return Batch{};
        }
        rl.release(got - jobs->size());
        b.jobs = std::move(*jobs);
        for (const auto& j : b.jobs) {
            auto reader =
                spool_.open_message(j);  // a damaged file is quarantined and the job failed there
            if (!reader) continue;
            OutgoingMessage m{j.id, j.sender, {}, reader->get(), j.size};
            for (const auto& r : j.recipients)
                if (r.result == spool::RecipientResult::pending) m.recipients.push_back(r.address);
            b.readers.push_back(std::move(*reader));
            b.out.push_back(std::move(m));
            b.sent.push_back(&j);
        }
        return std::optional<Batch>(std::move(b));  // moved: `sent` points into b.jobs
    }
    return std::nullopt;
}

std::size_t Engine::send_batch(const std::string& profile, Batch& b) {
    if (b.out.empty()) return 0;
    const std::size_t n = b.sent.size();
    // A message the server answered without a session error is recorded as
    // soon as its reply came: were this process to die later in the batch,
    // it would not be sent again. The Recorder commits it on a thread of its
    // own, so the connection goes on with the next message meanwhile; work()
    // syncs them. The others wait for the batch's end and its transcript.
    std::vector<bool> recorded(n, false);
    std::optional<Recorder> recorder;
    recorder.emplace(spool_, opt_.on_error);
    // Jobs are marked as going out a few at a time, in the same commits, a
    // few messages before the first of them goes: after a crash only those
    // come back flagged maybe_sent. [0, marked) are handed to the recorder,
    // [0, durable) known committed; a message goes out only once durable.
    const std::size_t ahead = std::max<std::size_t>(opt_.mark_ahead, 2);
    std::size_t marked = 0;
    std::size_t durable = 0;
    auto next_marks = [&] {
        std::vector<spool::JobId> ids;
        for (const std::size_t end = std::min(n, marked + ahead); marked < end; ++marked)
            ids.push_back(b.sent[marked]->id);
        return ids;
    };
    recorder->add(std::nullopt, next_marks());
    recorder->wait();
    durable = marked;
    auto record_now = [&](std::size_t i, const MessageOutcome& mo) {
        if (i >= n) return;
        const std::size_t before = marked;
        std::vector<spool::JobId> marks;
        if (marked < n && i + 1 + ahead / 2 >= marked) marks = next_marks();
        std::optional<Recorder::Delivered> result;
        if (!mo.error && !mo.maybe_sent) {
            result.emplace(b.sent[i]->id,
                           settle(*b.sent[i], mo, {}, clock_.now(), b.cfg.retry, rng_));
            recorded[i] = true;
        }
        if (result || !marks.empty()) {
            recorder->add(std::move(result), std::move(marks));
            durable = before;  // add() waited for everything handed over before
        }
        // The next message goes out when this returns.
        if (i + 1 < n && i + 1 >= durable) {
            recorder->wait();
            durable = marked;
        }
    };
    BatchOutcome outcome = transport_.send(profile, b.out, record_now);
    recorder.reset();  // drains: every early result is committed from here on
    const auto now = clock_.now();
    for (std::size_t i = 0; i < b.sent.size(); ++i) {
        if (recorded[i]) continue;
        const MessageOutcome none{
            {}, fail(Errc::mail_service_unavailable, "the transport gave no result"), false};
        const MessageOutcome& mo = i < outcome.messages.size() ? outcome.messages[i] : none;
        auto attempt = settle(*b.sent[i], mo, outcome.transcript, now, b.cfg.retry, rng_);
        if (auto r = spool_.finish_attempt(b.sent[i]->id, attempt); !r) opt_.on_error(r.error());
    }
    return b.sent.size();
}

std::size_t Engine::work(const std::string& profile, std::optional<spool::JobId> only,
                         std::stop_token stop) {
    // Claims and results are committed with their sync deferred; this
    // thread syncs them every few milliseconds, off the sending path, and
    // removes the files of sent jobs once their results are durable. A
    // power cut can so undo the last few milliseconds of claims and results
    // (their jobs are sent again); the death of the process undoes nothing.
    std::jthread syncer([this](std::stop_token done) {
        name_this_thread("pb-sync");
        lower_this_thread_priority(kBookkeeping);
        for (;;) {
            wait_until(clock_.now() + opt_.sync_interval, done);
            if (done.stop_requested()) return;  // work() syncs the rest
            if (auto r = spool_.sync(); !r) opt_.on_error(r.error());
            spool_.remove_freed();
        }
    });
    // The next batch is claimed and its files opened while this one is
    // sent: the connection never waits for the spool between batches. The
    // same thread lets go of the batch sent before: closing the files of
    // sent jobs, already unlinked, is when the file system frees them, a
    // tenth of a millisecond each, and that is no work for the connection.
    std::future<std::optional<Batch>> ahead;
    std::optional<Batch> b;
    std::size_t done = 0;
    while (!stop.stop_requested()) {
        std::optional<Batch> next;
        if (ahead.valid()) next = ahead.get();
        // Nothing taken ahead (rate-limited, or nothing was due then): look
        // now, for jobs that came while the last batch was sent.
        if (!next || next->jobs.empty()) next = take_batch(profile, only, true, stop);
        if (!next || next->jobs.empty()) break;
        if (!only)
            ahead = std::async(std::launch::async,
                               [this, &profile, stop, sent = std::move(b)]() mutable {
                                   name_this_thread("pb-take");
                                   lower_this_thread_priority(kBookkeeping);
                                   sent.reset();
                                   return take_batch(profile, std::nullopt, false, stop);
                               });
        b = std::move(next);
        done += send_batch(profile, *b);
        if (only) break;
    }
    if (ahead.valid()) {  // stopped with a batch taken ahead: it goes back
        if (auto left = ahead.get(); left && !left->jobs.empty()) {
            std::vector<spool::JobId> ids;
            for (const auto& j : left->jobs) ids.push_back(j.id);
            if (auto r = spool_.unclaim(ids); !r) opt_.on_error(r.error());
        }
    }
    syncer.request_stop();
    syncer.join();
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

void Engine::run(std::stop_token stop) {
    // One runner per profile with due jobs; a runner is a flush() of that
    // profile (its concurrency workers) and ends when nothing is due.
    struct Runner {
        std::string profile;
        std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
        std::jthread thread;
    };
    std::list<Runner> runners;
    auto last_prune = TimePoint{};
    while (!stop.stop_requested()) {
        runners.remove_if([](const Runner& r) { return r.done->load(); });  // joins the finished
        const auto now = clock_.now();
        if (now - last_prune >= std::chrono::hours{1}) {
            if (auto r = spool_.prune(opt_.retention()); !r) opt_.on_error(r.error());
            last_prune = now;
        }
        if (opt_.sign_in_problem) {
            if (auto held = spool_.held_profiles()) {
                for (const auto& p : *held)
                    if (release_held(opt_.sign_in_problem(p))) (void)release(p);
            }
        }
        if (auto due = spool_.due_profiles()) {
            for (const auto& p : *due) {
                if (std::any_of(runners.begin(), runners.end(),
                                [&](const Runner& r) { return r.profile == p; }))
                    continue;
                Runner& r = runners.emplace_back();
                r.profile = p;
                r.thread = std::jthread([this, p, stop, done = r.done] {
                    name_this_thread("pb-flush");
                    flush(p, stop);
                    *done = true;
                });
            }
        } else {
            opt_.on_error(due.error());
        }
        transport_.tidy();  // connections kept idle too long are closed
        TimePoint wake = clock_.now() + opt_.poll;
        if (auto next = spool_.next_due(); next && *next && **next < wake) wake = **next;
        wait_until(wake, stop);
    }
    // Destroying the runners joins them: workers finish their batch and
    // record it before serve exits.
}

}  // namespace pb::delivery
