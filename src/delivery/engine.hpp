// Delivery workers: take due jobs from the spool, send them through the
// transport in batches over one connection each, and record what policy.hpp
// decides. Per profile: at most delivery.concurrency connections at once,
// at most delivery.rate_limit messages a minute.
//
// Three ways to run, matching "Processes" in design.md. Claims are leases
// (spool.hpp), so any number of engines may share a queue; the commands
// still take the delivery lock (locks.hpp) so that one process at a time
// works a host's queue:
//   deliver(id)  one attempt at one job now (`send --wait`, `sendmail`
//                without a running serve)
//   flush()      every due job until none is due (`postbridge flush`)
//   run(stop)    serve: deliver as jobs come due, release held jobs when
//                their profile is signed in again, prune the history
//
// Threads: one sending thread per connection, and nothing else waits on the
// network. Two threads of the engine keep the books for all of them (see
// engine.cpp): the clerk commits results and marks as the server answers,
// claims each connection's next batch while the current one is sent and
// closes the files of sent batches; the syncer makes the commits durable a
// few milliseconds later and removes the files of sent jobs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

#include "core/clock.hpp"
#include "delivery/events.hpp"
#include "delivery/policy.hpp"
#include "delivery/rate_limiter.hpp"
#include "delivery/transport.hpp"
#include "spool/spool.hpp"

namespace pb::delivery {

struct ProfileConfig {
    int concurrency = 3;  // delivery.concurrency
    int rate_limit = 0;   // delivery.rate_limit, messages per minute; 0 = none
    RetryPolicy retry;    // retry.max_age = delivery.max_age
};

// How the engine waits for time to pass: until a time of its clock, or a
// stop request. Tests put in one that moves a manual clock, so that they say
// when time passes instead of sleeping.
class Waiter {
  public:
    virtual ~Waiter() = default;
    virtual void wait_until(TimePoint t, std::stop_token stop) = 0;
};

// The real one: sleeps for as long as `clock` says is left.
class ClockWaiter final : public Waiter {
  public:
    explicit ClockWaiter(const Clock& clock) : clock_(clock) {}
    void wait_until(TimePoint t, std::stop_token stop) override;

  private:
    const Clock& clock_;
};

struct EngineOptions {
    // Read for every batch, so that a running serve follows `config set`.
    std::function<ProfileConfig(const std::string& profile)> config = [](const std::string&) {
        return ProfileConfig{};
    };
    // nullopt when the profile can send; else 360/361/370. Asked by run()
    // for profiles with held jobs; absent: held jobs wait for release().
    std::function<std::optional<Errc>(const std::string& profile)> sign_in_problem;
    std::function<spool::Retention()> retention = [] { return spool::Retention{}; };
    std::size_t batch_max = 50;  // messages per connection
    // Jobs of a batch are marked as going out this many at a time, a few
    // messages before they do: after a crash only those marked come back
    // flagged maybe_sent; the rest of the batch, and the batch taken ahead,
    // go back as never tried. Small: one more row in a few commits.
    std::size_t mark_ahead = 8;
    // How long a commit may wait for its sync: what a power cut can undo
    // (the jobs are sent again). Disk time, so real time, not the clock's.
    std::chrono::milliseconds sync_interval{10};
    Duration poll = std::chrono::seconds{1};  // how often run() looks for other processes' jobs
    // How often run() takes back the jobs of deliverers that died
    // (Spool::recover_expired), and how often the claims of this one are
    // renewed (real time: a stuck clock must not let them run out).
    Duration recovery_interval = std::chrono::seconds{30};
    std::chrono::milliseconds lease_renewal =
        std::chrono::duration_cast<std::chrono::milliseconds>(spool::kLeaseLength) / 4;
    // Not owned; null: a ClockWaiter of the engine's clock.
    Waiter* waiter = nullptr;
    // Not owned; may be null.
    Observer* observer = nullptr;
    // Where failures of the engine itself go (a database error while
    // recording a result); the job stays `sending` until its claim is
    // recovered.
    std::function<void(const Error&)> on_error = [](const Error&) {};
};

class Engine {
  public:
    Engine(spool::Spool& spool, Transport& transport, const Clock& clock, Random& rng,
           EngineOptions options);
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    Result<spool::Job> deliver(spool::JobId id);
    // Returns how many attempts were made.
    std::size_t flush(std::optional<std::string> profile = std::nullopt, std::stop_token stop = {});
    void run(std::stop_token stop);
    // The profile signed in: its held jobs go out (a successful `signin`).
    Result<std::size_t> release(const std::string& profile);
    // A job was accepted: run() looks for due jobs now rather than at its
    // next poll.
    void wake();

  private:
    struct Batch;
    class Books;
    class Sending;

    // One connection's worker: batches of `profile` (or the one job `only`)
    // until none is due or `stop`. Returns how many attempts it made.
    std::size_t work(const std::string& profile, std::optional<spool::JobId> only,
                     std::stop_token stop);
    // Claims the profile's next batch (or the one job `only`) and opens its
    // messages. nullopt: stopped, or rate-limited and not `may_wait`. A batch
    // without jobs: nothing is due.
    std::optional<Batch> take_batch(const std::string& profile, std::optional<spool::JobId> only,
                                    bool may_wait, std::stop_token stop);
    std::size_t send_batch(const std::string& profile, Batch& batch);
    RateLimiter& limiter(const std::string& profile, int limit);
    Books& books();

    spool::Spool& spool_;
    Transport& transport_;
    const Clock& clock_;
    LockedRandom rng_;
    EngineOptions opt_;
    std::unique_ptr<ClockWaiter> own_waiter_;  // when none was given
    Waiter& waiter_;
    Observer no_observer_;
    Observer& observer_;
    std::mutex mu_;
    std::map<std::string, std::pair<int, std::unique_ptr<RateLimiter>>> limiters_;
    std::unique_ptr<Books> books_;  // started by the first batch
    // wake(): the wait of run() under way, or a note that there was one.
    std::stop_source* nap_ = nullptr;
    bool woken_ = false;
};

}  // namespace pb::delivery
