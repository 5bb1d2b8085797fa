// The durable queue and the job history behind it.
//
// A job is accepted only when both halves are durable: its message file
// written, fsynced, renamed from spool/tmp into spool/msg, that directory
// fsynced; then its record committed to the state database (WAL,
// synchronous=FULL). A crash before the commit leaves at most an orphan
// file, which recover() sweeps; a crash after leaves a job that will be
// delivered. Nothing is ever in the database that is not on disk.
//
//   STATE/spool/tmp/         files being written
//   STATE/spool/msg/         accepted messages (format.hpp)
//   STATE/spool/quarantine/  damaged files, kept for a person to look at
//
// Delivery's own state changes (a claim, a result) may be committed with
// their sync deferred (Durability::deferred): written to the log at once, so
// they survive the death of the process, and made durable by the next sync()
// or synced commit. A power cut in between undoes them: a claimed job is
// queued again, a result is forgotten and its job sent again. Intake is
// always synced. A sent job's message file is removed only once its result
// is durable.
//
// The Spool has its own connection to the database, guarded by a mutex, so
// that delivery threads and intake can share one instance; several
// processes share the database through SQLite's locking.
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
#include "spool/file_ops.hpp"
#include "spool/format.hpp"
#include "spool/job.hpp"
#include "store/sqlite.hpp"

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

class Spool {
  public:
    // `state_dir` must hold a migrated store (store::Store::open did that).
    static Result<std::unique_ptr<Spool>> open(const std::filesystem::path& state_dir, FileOps& ops,
                                               const Clock& clock, Random& rng);

    // --- intake ----------------------------------------------------------
    // Streams `body` to disk and records the job. Any failure is 651 (or the
    // body source's own error) and leaves nothing behind.
    Result<JobId> accept(const Submission& sub, ByteSource& body);

    // --- history -----------------------------------------------------------
    Result<std::optional<Job>> job(JobId id);
    // Newest first.
    Result<std::vector<Job>> jobs(std::size_t limit);
    // Removes final jobs beyond the count or older than the age, and their
    // files. Queued and held jobs are mail not yet delivered: never pruned.
    Result<std::size_t> prune(const Retention& r);

    // --- figures (metrics, alerts) -------------------------------------------
    // How many jobs are in each state (states with none are absent).
    Result<std::map<std::string, std::int64_t>> count_by_state();
    // Per profile, when its oldest job not yet delivered (queued or
    // sending, and held ones with `with_held`) was accepted; profiles with
    // none are absent.
    Result<std::map<std::string, TimePoint>> oldest_waiting(bool with_held = true);

    // --- delivery ----------------------------------------------------------
    // Profiles that have held jobs.
    Result<std::vector<std::string>> held_profiles();
    // Profiles that have queued jobs due at `now`.
    Result<std::vector<std::string>> due_profiles();
    // The earliest next attempt among queued jobs (of one profile, or all),
    // counting only those later than `after` when it is given.
    Result<std::optional<TimePoint>> next_due(std::optional<std::string> profile = std::nullopt,
                                              std::optional<TimePoint> after = std::nullopt);
    // Takes up to `max` due queued jobs of `profile` (oldest first), or the
    // one job `only`, into `sending` and counts the attempt.
    Result<std::vector<Job>> claim(const std::string& profile, std::size_t max,
                                   std::optional<JobId> only = std::nullopt,
                                   Durability durability = Durability::synced);
    // Claimed jobs not attempted after all (delivery stopped) back to
    // queued, their attempt uncounted. Jobs no longer `sending` are left.
    Result<void> unclaim(std::span<const JobId> ids);
    // The message of a claimed job. A damaged file is quarantined here and
    // the job failed with 651; the error is returned.
    Result<std::unique_ptr<SpoolReader>> open_message(const Job& job);
    Result<void> finish_attempt(JobId id, const Attempt& attempt);
    // Several in one transaction: delivery records the messages of a
    // connection this way, deferred, while the connection goes on. A synced
    // commit makes every deferred one before it durable too. `going_out`:
    // claimed jobs whose messages may reach the server from now on, marked
    // in the same transaction (Job::on_wire). Until then a claimed job is
    // only reserved, and recover() puts it back as if never claimed.
    Result<void> finish_attempts(std::span<const std::pair<JobId, Attempt>> attempts,
                                 Durability durability = Durability::synced,
                                 std::span<const JobId> going_out = {});
    // Makes every deferred commit before it durable (one fsync of the log,
    // without holding up other commits meanwhile). The message files of sent
    // jobs this makes removable are then removed by remove_freed().
    Result<void> sync();
    // Removes the message files of sent jobs whose results are synced
    // (delivery calls it beside the sending, off its path).
    void remove_freed();
    // held -> queued, due now, for every job of the profile. Returns how many.
    Result<std::size_t> release_held(const std::string& profile);
    // A failed, partial or held job back to queued with its refused
    // recipients pending again, or a queued one made due now (`jobs retry
    // ID`). 652 when it cannot be (being sent, or nothing left to send).
    Result<void> retry(JobId id);
    // After a crash, by whoever takes the delivery lock: jobs left in
    // `sending` go back to queued. Those on the wire are marked maybe_sent
    // (their process may have died after the server took the message); the
    // others were only reserved, and their attempt is not counted. Files
    // with no job, older than `orphan_age`, are removed.
    Result<std::size_t> recover(Duration orphan_age = std::chrono::minutes{10});

    // Asked about every job that becomes failed or partial from now on; not
    // owned, outlives the spool's use. Null: none.
    void set_reporter(Reporter* reporter);

    const std::filesystem::path& dir() const noexcept { return dir_; }

  private:
    Spool(store::Db db, std::filesystem::path dir, FileOps& ops, const Clock& clock, Random& rng)
        : db_(std::move(db)), dir_(std::move(dir)), ops_(ops), clock_(clock), rng_(rng) {}
    Result<std::vector<Job>> load(std::string_view where, std::int64_t arg, std::size_t limit);
    // The distinct profiles of jobs matching `condition` (with ?1 = arg).
    Result<std::vector<std::string>> profiles_where(std::string_view condition, std::int64_t arg);
    Result<void> quarantine_locked(const Job& job, const Error& why);
    // A fresh spool file name (needs the lock: Random is not thread-safe).
    Result<std::string> new_name_locked();
    // Writes `body` as spool file `name`: written, synced, renamed into msg/,
    // the directory synced. Returns the message's size.
    Result<std::uint64_t> write_message(const std::string& name, const Submission& sub,
                                        ByteSource& body);
    // The job's rows, inside the caller's transaction.
    Result<JobId> insert_locked(const Submission& sub, const std::string& name, std::uint64_t size,
                                std::int64_t now);
    // Inside the transaction that made job `id` final: its follow-up, if the
    // reporter wants one, in a savepoint of its own (a failure to store it
    // costs the report, never the job's outcome).
    Result<void> follow_up_locked(JobId id, std::int64_t now);
    // Counts a commit; a synced one makes all before it durable.
    void committed_locked(Durability durability);
    // Commits up to `upto` are durable: the files waiting on them are freed,
    // for remove_freed().
    void synced_locked(std::uint64_t upto);

    std::mutex mu_;  // one statement or transaction at a time on db_
    store::Db db_;
    std::filesystem::path dir_;
    FileOps& ops_;
    const Clock& clock_;
    Random& rng_;
    Reporter* reporter_ = nullptr;
    // Commits through this connection, counted; those up to synced_ are
    // durable. A sent job's file waits in unsynced_drops_ (tagged with its
    // commit) until then, and in freed_ until remove_freed().
    std::uint64_t written_ = 0;
    std::uint64_t synced_ = 0;
    std::vector<std::pair<std::uint64_t, std::string>> unsynced_drops_;
    std::vector<std::string> freed_;
};

}  // namespace pb::spool
