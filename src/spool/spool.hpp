// The durable queue and the job history behind it: an interface, so that
// a second backend is a module (storage/backends.hpp opens one).
//
// A job is accepted only when both halves are durable: its message written
// whole to the body store (body_store.hpp), then its record committed. A
// crash before the commit leaves at most an orphan body, which recover()
// sweeps; a crash after leaves a job that will be delivered. Nothing is
// ever in the queue that is not in the body store.
//
// Delivery's own state changes (a claim, a result) may be committed with
// their sync deferred (Durability::deferred): written at once, so they
// survive the death of the process, and made durable by the next sync() or
// synced commit. A power cut in between undoes them: a claimed job is
// queued again, a result is forgotten and its job sent again. Intake is
// always synced. A sent job's body is removed only once its result is
// durable.
//
// Claims are leases. A job being sent belongs to the spool that claimed it
// (its owner(), one per process or instance) until its lease runs out; the
// owner renews its leases while it sends (renew_leases(), kLeaseLength /
// 4 apart). recover_expired() takes back the jobs whose lease ran out, or
// whose owner the backend knows to be dead, and only those: any number of
// deliverers may share a queue, and any of them may recover at any time.
//
// Thread-safe: delivery threads and intake share one instance.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/source.hpp"
#include "spool/body_store.hpp"
#include "spool/format.hpp"
#include "spool/job.hpp"

namespace pb::spool {

struct Submission {
    Function function = Function::cli;
    std::string profile = "email";
    std::string sender;                   // envelope sender (MAIL FROM)
    std::vector<std::string> recipients;  // envelope recipients, each once
    std::string subject;                  // for the history only
    // Accept the job straight into `held` with this code (the profile is not
    // signed in and hold_when_signed_out is on).
    std::optional<Errc> held;
    // Where a report of its failure goes when not to `sender`: the relay's
    // device sender when sender_policy=rewrite replaced it. Empty: sender.
    std::string return_path = {};  // (a default: positional initialisers may stop before it)
    // A header that names the job, put before the message when it is sent:
    // the relay's Received: (format.hpp's T record).
    std::optional<Trace> trace = {};
    // The local user who handed it over (local submission); "" otherwise.
    std::string submitter = {};
    // RFC 3461 NOTIFY and RET for the upstream server (sendmail -N, -R).
    std::string dsn_notify = {};
    std::string dsn_ret = {};
};

// What one delivery attempt found, for finish_attempt().
struct Attempt {
    JobState state = JobState::queued;
    std::optional<Error> error;
    bool maybe_sent = false;
    std::optional<std::string> transcript;     // kept when the attempt failed
    std::optional<TimePoint> next_attempt_at;  // when state is queued
    std::vector<Recipient> recipients;         // results by seq; others unchanged
    std::string transport = {};                // "smtp" or "graph"; "" leaves the job's as it was
    // For observers only, not stored: where the attempt went ("host:port")
    // and how long it took on the connection.
    std::string server = {};
    Duration elapsed{0};
};

// A job made by the transaction that records another job's final outcome:
// the relay's delivery status notification for a job that failed. The two
// commit together, so a report is made exactly once, whatever crashes.
struct FollowUp {
    Submission submission;
    std::string message;  // the whole message, CRLF line ends
};

// Asked, inside that transaction, whether a job that has just become final
// (failed or partial; sent jobs are not asked) needs a follow-up. Called
// with the spool's lock held: it must not call the spool.
class Reporter {
  public:
    virtual ~Reporter() = default;
    // `job` as it now stands, with its recipients' results. Asked at most
    // once per job: once a follow-up is made the job is marked reported.
    virtual std::optional<FollowUp> follow_up(const Job& job) = 0;
    // The follow-up could not be stored (the job's own outcome still is).
    virtual void failed(const Job& /*job*/, const Error& /*why*/) {}
};

// How a commit of delivery results reaches the disk (see the top).
enum class Durability { synced, deferred };

struct Retention {
    std::int64_t max_jobs = 1000;
    Duration max_age = std::chrono::days{30};
};

// How long a claim lasts unless its owner renews it.
inline constexpr Duration kLeaseLength = std::chrono::seconds{60};

class Spool {
  public:
    virtual ~Spool() = default;

    // --- intake ----------------------------------------------------------
    // Streams `body` into the body store and records the job. Any failure
    // is 651 (or the body source's own error) and leaves nothing behind.
    virtual Result<JobId> accept(const Submission& sub, ByteSource& body) = 0;

    // --- history -----------------------------------------------------------
    virtual Result<std::optional<Job>> job(JobId id) = 0;
    // Newest first.
    virtual Result<std::vector<Job>> jobs(std::size_t limit) = 0;
    // Removes final jobs beyond the count or older than the age, and their
    // bodies. Queued and held jobs are mail not yet delivered: never pruned.
    virtual Result<std::size_t> prune(const Retention& r) = 0;

    // --- figures (metrics, alerts) -------------------------------------------
    // How many jobs are in each state (states with none are absent).
    virtual Result<std::map<std::string, std::int64_t>> count_by_state() = 0;
    // Per profile, when its oldest job not yet delivered (queued or
    // sending, and held ones with `with_held`) was accepted; profiles with
    // none are absent.
    virtual Result<std::map<std::string, TimePoint>> oldest_waiting(bool with_held = true) = 0;

    // --- delivery ----------------------------------------------------------
    // Profiles that have held jobs.
    virtual Result<std::vector<std::string>> held_profiles() = 0;
    // Profiles that have queued jobs due now.
    virtual Result<std::vector<std::string>> due_profiles() = 0;
    // The earliest next attempt among queued jobs (of one profile, or all),
    // counting only those later than `after` when it is given.
    virtual Result<std::optional<TimePoint>> next_due(
        std::optional<std::string> profile = std::nullopt,
        std::optional<TimePoint> after = std::nullopt) = 0;
    // Takes up to `max` due queued jobs of `profile` (oldest first), or the
    // one job `only`, into `sending`, leased to owner() for kLeaseLength,
    // and counts the attempt.
    virtual Result<std::vector<Job>> claim(const std::string& profile, std::size_t max,
                                           std::optional<JobId> only = std::nullopt,
                                           Durability durability = Durability::synced) = 0;
    // Claimed jobs not attempted after all (delivery stopped) back to
    // queued, their attempt uncounted. Jobs no longer `sending` are left.
    virtual Result<void> unclaim(std::span<const JobId> ids) = 0;
    // The message of a claimed job, as it is sent. A damaged body is
    // quarantined here and the job failed with 651; the error is returned.
    virtual Result<std::unique_ptr<ByteSource>> open_message(const Job& job) = 0;
    Result<void> finish_attempt(JobId id, const Attempt& attempt) {
        const std::pair<JobId, Attempt> one[] = {{id, attempt}};
        return finish_attempts(one);
    }
    // Several in one transaction: delivery records the messages of a
    // connection this way, deferred, while the connection goes on. A synced
    // commit makes every deferred one before it durable too. `going_out`:
    // claimed jobs whose messages may reach the server from now on, marked
    // in the same transaction (Job::on_wire). Until then a claimed job is
    // only reserved, and recovery puts it back as if never claimed.
    virtual Result<void> finish_attempts(std::span<const std::pair<JobId, Attempt>> attempts,
                                         Durability durability = Durability::synced,
                                         std::span<const JobId> going_out = {}) = 0;
    // Makes every deferred commit before it durable, without holding up
    // other commits meanwhile. The bodies of sent jobs this makes removable
    // are then removed by remove_freed().
    virtual Result<void> sync() = 0;
    // Removes the bodies of sent jobs whose results are synced (delivery
    // calls it beside the sending, off its path).
    virtual void remove_freed() = 0;
    // held -> queued, due now, for every job of the profile. Returns how many.
    virtual Result<std::size_t> release_held(const std::string& profile) = 0;
    // A failed, partial or held job back to queued with its refused
    // recipients pending again, or a queued one made due now (`jobs retry
    // ID`). 652 when it cannot be (being sent, or nothing left to send).
    virtual Result<void> retry(JobId id) = 0;

    // --- leases and recovery -------------------------------------------------
    // Who this spool's claims belong to: unique among every process and
    // instance that shares the queue.
    virtual const std::string& owner() const = 0;
    // Extends every lease of owner() to kLeaseLength from now.
    virtual Result<void> renew_leases() = 0;
    // Jobs in `sending` whose lease ran out or whose owner is dead go back
    // to queued. Those on the wire are marked maybe_sent (their owner may
    // have died after the server took the message); the others were only
    // reserved, and their attempt is not counted. Returns how many.
    virtual Result<std::size_t> recover_expired() = 0;
    // Bodies with no job, older than `orphan_age`, are removed.
    virtual Result<std::size_t> sweep_orphans(Duration orphan_age) = 0;
    // Both, as a deliverer does when it starts. Returns how many jobs came back.
    Result<std::size_t> recover(Duration orphan_age = std::chrono::minutes{10}) {
        if (auto swept = sweep_orphans(orphan_age); !swept) return swept.error();
        return recover_expired();
    }

    // Asked about every job that becomes failed or partial from now on; not
    // owned, outlives the spool's use. Null: none.
    virtual void set_reporter(Reporter* reporter) = 0;
    // Whether a message can be accepted now ("" when so; else what is
    // wrong): Web Config's readiness check.
    virtual std::string problem() = 0;
};

}  // namespace pb::spool
