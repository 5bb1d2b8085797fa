// The local backend's queue: the jobs' rows in the state database (the
// store's connection is not shared: this one has its own, guarded by a
// mutex), bodies as files (spool::FileBodyStore in STATE/spool), and for
// each owner a lock file that tells whether it is alive:
//
//   STATE/spool/owners/OWNER.lock   flock(2)ed by its spool from its first
//                                   claim until it is destroyed or dies
//
// An owner is dead when its lock file can be locked by another, or is
// gone: a crashed deliverer's jobs are recovered at once, not a lease
// later. Since every owner of this queue is on this host, that test is
// exact and unmoved by the clock: a live owner keeps its jobs even when the
// clock jumps past their leases (an owner nobody can test, such as a job
// claimed by a postbridge before leases, is judged by its lease alone).
// Several processes share the database through SQLite's locking.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "spool/spool.hpp"
#include "sqlite/db.hpp"

namespace pb::sqlite {

class SqliteSpool final : public spool::Spool {
  public:
    // `state_dir` must hold a migrated store (SqliteStore::open did that).
    static Result<std::unique_ptr<SqliteSpool>> open(const std::filesystem::path& state_dir,
                                                     spool::FileOps& ops, const Clock& clock,
                                                     Random& rng);
    ~SqliteSpool() override;

    Result<spool::JobId> accept(const spool::Submission& sub, ByteSource& body) override;
    Result<std::optional<spool::Job>> job(spool::JobId id) override;
    Result<std::vector<spool::Job>> jobs(std::size_t limit) override;
    Result<std::size_t> prune(const spool::Retention& r) override;
    Result<std::map<std::string, std::int64_t>> count_by_state() override;
    Result<std::map<std::string, TimePoint>> oldest_waiting(bool with_held) override;
    Result<std::vector<std::string>> held_profiles() override;
    Result<std::vector<std::string>> due_profiles() override;
    Result<std::optional<TimePoint>> next_due(std::optional<std::string> profile,
                                              std::optional<TimePoint> after) override;
    Result<std::vector<spool::Job>> claim(const std::string& profile, std::size_t max,
                                          std::optional<spool::JobId> only,
                                          spool::Durability durability) override;
    Result<void> unclaim(std::span<const spool::JobId> ids) override;
    Result<std::unique_ptr<ByteSource>> open_message(const spool::Job& job) override;
    Result<void> finish_attempts(std::span<const std::pair<spool::JobId, spool::Attempt>> attempts,
                                 spool::Durability durability,
                                 std::span<const spool::JobId> going_out) override;
    Result<void> sync() override;
    void remove_freed() override;
    Result<std::size_t> release_held(const std::string& profile) override;
    Result<void> retry(spool::JobId id) override;
    const std::string& owner() const override { return owner_; }
    Result<void> renew_leases() override;
    Result<std::size_t> recover_expired() override;
    Result<std::size_t> sweep_orphans(Duration orphan_age) override;
    void set_reporter(spool::Reporter* reporter) override;
    std::string problem() override { return bodies_->problem(); }

  private:
    SqliteSpool(Db db, std::unique_ptr<spool::FileBodyStore> bodies, spool::FileOps& ops,
                std::string owner, const Clock& clock)
        : db_(std::move(db)),
          bodies_(std::move(bodies)),
          ops_(ops),
          owner_(std::move(owner)),
          clock_(clock) {}
    Result<std::vector<spool::Job>> load(std::string_view where, std::int64_t arg,
                                         std::size_t limit);
    // The distinct profiles of jobs matching `condition` (with ?1 = arg).
    Result<std::vector<std::string>> profiles_where(std::string_view condition, std::int64_t arg);
    Result<void> quarantine_locked(const spool::Job& job, const Error& why);
    // The job's rows, inside the caller's transaction.
    Result<spool::JobId> insert_locked(const spool::Submission& sub, const spool::StoredBody& body,
                                       std::int64_t now);
    // Inside the transaction that made job `id` final: its follow-up, if the
    // reporter wants one, in a savepoint of its own (a failure to store it
    // costs the report, never the job's outcome).
    Result<void> follow_up_locked(spool::JobId id, std::int64_t now);
    // Counts a commit; a synced one makes all before it durable.
    void committed_locked(spool::Durability durability);
    // Commits up to `upto` are durable: the bodies waiting on them are
    // freed, for remove_freed().
    void synced_locked(std::uint64_t upto);
    // Holds this owner's lock file from the first claim on.
    Result<void> hold_owner_lock_locked();
    // Whether `owner`'s process is gone (its lock file free or absent).
    bool owner_dead(const std::string& owner);
    std::filesystem::path owner_lock(const std::string& owner) const;

    std::mutex mu_;  // one statement or transaction at a time on db_
    Db db_;
    std::unique_ptr<spool::FileBodyStore> bodies_;
    spool::FileOps& ops_;  // the bodies', and the log's sync
    std::string owner_;
    int owner_fd_ = -1;  // the flock on owner_lock(owner_), from the first claim
    const Clock& clock_;
    spool::Reporter* reporter_ = nullptr;
    // Commits through this connection, counted; those up to synced_ are
    // durable. A sent job's body waits in unsynced_drops_ (tagged with its
    // commit) until then, and in freed_ until remove_freed().
    std::uint64_t written_ = 0;
    std::uint64_t synced_ = 0;
    std::vector<std::pair<std::uint64_t, std::string>> unsynced_drops_;
    std::vector<std::string> freed_;
};

}  // namespace pb::sqlite
