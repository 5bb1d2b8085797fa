// The queue in the state database (sqlite/spool.hpp): intake, the job
// history's queries, and the state changes that delivery makes, each one
// transaction.
#include "sqlite/spool.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "sqlite/store.hpp"

namespace pb::sqlite {
namespace fs = std::filesystem;
using spool::Attempt;
using spool::Durability;
using spool::Function;
using spool::Job;
using spool::JobId;
using spool::JobState;
using spool::Recipient;
using spool::RecipientResult;
using spool::Submission;
namespace {

// Due: a queued job is due when its time has come, or when it was last written
// after now: the clock went back (an NTP step, a fixed RTC), and its wait
// was counted on the clock as it was. Without this a job deferred a minute
// before the clock went back 2 hours would wait 2 hours; with it, it is
// tried once more now and waits again on the clock as it is. (Instances
// whose clocks differ by seconds at most try a job that much early.) The
// queries that pick due jobs say "(next_attempt_at <= NOW OR updated_at >
// NOW)".

std::int64_t ms(TimePoint t) {
    return t.time_since_epoch().count();
}
TimePoint from_ms(std::int64_t v) {
    return TimePoint{Duration{v}};
}

constexpr std::string_view kColumns =
    "id, created_at, updated_at, next_attempt_at, finished_at, function, profile, sender, subject, "
    "size, "
    "attempts, state, code, detail, maybe_sent, transcript, file, queued_at, return_path, on_wire, "
    "transport, reported, submitter, dsn_notify, dsn_ret, owner, lease_until";

Error refused(const Error& e) {
    // The words a submitter sees when intake says no; the cause stays exact.
    return fail(e.code, "the message was not accepted: " + e.detail, e.system_errno);
}

std::optional<Errc> code_column(const Stmt& st, int col) {
    if (st.is_null(col)) return std::nullopt;
    return errc_from_int(static_cast<int>(st.integer(col)));
}

// For a deferred commit: synchronous=NORMAL, which in WAL mode writes the
// commit to the log without syncing it; back to FULL however the commit ends.
class DeferredSync {
  public:
    DeferredSync(Db& db, Durability d) : db_(db), on_(d == Durability::deferred) {}
    DeferredSync(const DeferredSync&) = delete;
    DeferredSync& operator=(const DeferredSync&) = delete;
    ~DeferredSync() {
        if (on_) (void)set("PRAGMA synchronous=FULL");
    }
    Result<void> begin() { return on_ ? set("PRAGMA synchronous=NORMAL") : Result<void>{}; }

  private:
    Result<void> set(std::string_view pragma) {
        auto st = db_.cached(pragma);  // compiled once: this runs twice a commit
        if (!st) return st.error();
        return st->run();
    }

    Db& db_;
    bool on_;
};

// Whose claims a spool's are: the host, the process and a random part, so
// that a person reading the table sees where a job is being sent.
std::string new_owner(Random& rng) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::string name(host);
    std::ranges::replace_if(
        name, [](char c) { return c == '/' || c == '.' || c == '\0'; }, '-');
    return (name.empty() ? std::string("local") : name) + "-" + std::to_string(::getpid()) + "-" +
           random_hex(rng, 6);
}

}  // namespace

Result<std::unique_ptr<SqliteSpool>> SqliteSpool::open(const fs::path& state_dir,
                                                       spool::FileOps& ops, const Clock& clock,
                                                       Random& rng) {
    const fs::path dir = state_dir / "spool";
    auto bodies = spool::FileBodyStore::open(dir, ops, rng);
    if (!bodies) return bodies.error();
    std::error_code ec;
    fs::create_directories(dir / "owners", ec);
    if (ec)
        return fail(Errc::spool_unwritable,
                    "cannot create " + (dir / "owners").string() + ": " + ec.message());
    auto db = Db::open(database_path(state_dir));
    if (!db) return db.error();
    if (auto r = db->exec("SELECT owner FROM jobs LIMIT 0"); !r)
        return fail(Errc::spool_unwritable,
                    "the state database has no job tables; open the store first (" +
                        r.error().detail + ")");
    return std::unique_ptr<SqliteSpool>(
        new SqliteSpool(std::move(*db), std::move(*bodies), ops, new_owner(rng), clock));
}

SqliteSpool::~SqliteSpool() {
    if (owner_fd_ < 0) return;
    // With nothing of ours left in `sending` the file goes. Otherwise (a
    // delivery that could not record its results) it stays, unlocked once
    // closed: a dead owner's, whose jobs the next recovery takes back and
    // which it then removes, as after a crash.
    bool sending = true;
    {
        std::lock_guard lock(mu_);
        if (auto st = db_.cached("SELECT 1 FROM jobs WHERE owner = ?1 AND state = 'sending'")) {
            st->bind(1, owner_);
            if (auto row = st->step()) sending = *row;
        }
    }
    if (!sending) ::unlink(owner_lock(owner_).c_str());
    ::close(owner_fd_);
}

fs::path SqliteSpool::owner_lock(const std::string& owner) const {
    return bodies_->dir() / "owners" / (owner + ".lock");
}

Result<void> SqliteSpool::hold_owner_lock_locked() {
    if (owner_fd_ >= 0) return {};
    const fs::path path = owner_lock(owner_);
    // A sweep (sweep_orphans) may take the new file for a dead owner's
    // between its creation and our lock, and remove it: then the lock is
    // on a file nobody can find, and it is made again.
    for (int attempt = 0; attempt < 3; ++attempt) {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return fail(Errc::spool_unwritable,
                        "cannot create " + path.string() + ": " + std::strerror(errno));
        struct stat held {};
        struct stat named {};
        if (::flock(fd, LOCK_EX) == 0 && ::fstat(fd, &held) == 0 &&
            ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev) {
            owner_fd_ = fd;
            return {};
        }
        ::close(fd);
    }
    return fail(Errc::spool_unwritable, "cannot hold the lock file " + path.string());
}

bool SqliteSpool::owner_dead(const std::string& owner) {
    // A name that is not one of ours (a path) is never taken for a file.
    if (owner.empty() || owner.find('/') != std::string::npos || owner.starts_with("."))
        return false;
    const fs::path path = owner_lock(owner);
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT;
    const bool dead = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (dead) ::unlink(path.c_str());  // locked by us meanwhile: nobody takes it
    ::close(fd);
    return dead;
}

Result<JobId> SqliteSpool::insert_locked(const Submission& sub, const spool::StoredBody& body,
                                         std::int64_t now) {
    auto ins = db_.cached(
        "INSERT INTO jobs (created_at, updated_at, queued_at, next_attempt_at, function, profile, "
        "sender, subject, size, state, code, detail, file, return_path, submitter, dsn_notify, "
        "dsn_ret) VALUES (?1, ?1, ?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14)");
    if (!ins) return ins.error();
    ins->bind(1, now)
        .bind(2, spool::to_string(sub.function))
        .bind(3, sub.profile)
        .bind(4, sub.sender)
        .bind(5, sub.subject)
        .bind(6, static_cast<std::int64_t>(body.size))
        .bind(7, to_string(sub.held ? JobState::held : JobState::queued))
        .bind(10, body.name)
        .bind(11, sub.return_path)
        .bind(12, sub.submitter)
        .bind(13, sub.dsn_notify)
        .bind(14, sub.dsn_ret);
    if (sub.held) {
        ins->bind(8, static_cast<std::int64_t>(*sub.held))
            .bind(9, std::string(info(*sub.held).status));
    } else {
        ins->bind_null(8).bind_null(9);
    }
    if (auto r = ins->run(); !r) return r.error();
    const JobId id = db_.last_insert_id();
    auto rc = db_.cached("INSERT INTO job_recipients (job, seq, address) VALUES (?, ?, ?)");
    if (!rc) return rc.error();
    for (std::size_t i = 0; i < sub.recipients.size(); ++i) {
        rc->reset();
        rc->bind(1, id).bind(2, static_cast<std::int64_t>(i)).bind(3, sub.recipients[i]);
        if (auto r = rc->run(); !r) return r.error();
    }
    return id;
}

Result<JobId> SqliteSpool::accept(const Submission& sub, ByteSource& body) {
    if (sub.recipients.empty()) return fail(Errc::invalid_input, "the message has no recipient");
    auto stored = bodies_->write(spool::FileEnvelope{sub.sender, sub.recipients, sub.trace}, body);
    if (!stored)
        return stored.error().code == Errc::spool_unwritable ? refused(stored.error())
                                                             : stored.error();
    const auto now = ms(clock_.now());
    std::lock_guard lock(mu_);
    auto commit = [&]() -> Result<JobId> {
        Transaction tx(db_);
        if (auto r = tx.begin(); !r) return r.error();
        auto id = insert_locked(sub, *stored, now);
        if (!id) return id.error();
        if (auto r = tx.commit(); !r) return r.error();
        committed_locked(Durability::synced);
        return id;
    };
    auto id = commit();
    if (!id) {
        bodies_->remove(stored->name);
        return refused(id.error());
    }
    return id;
}

void SqliteSpool::set_reporter(spool::Reporter* reporter) {
    std::lock_guard lock(mu_);
    reporter_ = reporter;
}

Result<void> SqliteSpool::follow_up_locked(JobId id, std::int64_t now) {
    if (reporter_ == nullptr) return {};
    auto jobs = load("WHERE id = ?1 AND reported = 0", id, 1);
    if (!jobs) return jobs.error();
    if (jobs->empty()) return {};
    const Job& job = jobs->front();
    auto report = reporter_->follow_up(job);
    if (!report) return {};
    if (report->submission.recipients.empty()) return {};

    // Outside the savepoint: a body with no job is swept by recovery.
    StringSource message(std::move(report->message));
    const auto& sub = report->submission;
    auto stored =
        bodies_->write(spool::FileEnvelope{sub.sender, sub.recipients, sub.trace}, message);
    if (!stored) {
        reporter_->failed(job, stored.error());
        return {};
    }
    auto in_savepoint = [&]() -> Result<void> {
        if (auto r = db_.exec("SAVEPOINT follow_up"); !r) return r;
        auto insert = [&]() -> Result<void> {
            auto made = insert_locked(report->submission, *stored, now);
            if (!made) return made.error();
            auto mark = db_.cached("UPDATE jobs SET reported = 1 WHERE id = ?1");
            if (!mark) return mark.error();
            mark->bind(1, id);
            return mark->run();
        };
        auto r = insert();
        if (!r) (void)db_.exec("ROLLBACK TO follow_up");
        (void)db_.exec("RELEASE follow_up");
        return r;
    };
    if (auto r = in_savepoint(); !r) {
        bodies_->remove(stored->name);
        reporter_->failed(job, r.error());
    }
    return {};
}

Result<std::vector<Job>> SqliteSpool::load(std::string_view where, std::int64_t arg,
                                           std::size_t limit) {
    auto st = db_.cached(std::string("SELECT ") + std::string(kColumns) + " FROM jobs " +
                         std::string(where) + " ORDER BY id DESC LIMIT ?2");
    if (!st) return st.error();
    st->bind(1, arg).bind(2, static_cast<std::int64_t>(limit));
    std::vector<Job> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        Job j;
        j.id = st->integer(0);
        j.created_at = from_ms(st->integer(1));
        j.updated_at = from_ms(st->integer(2));
        if (!st->is_null(3)) j.next_attempt_at = from_ms(st->integer(3));
        if (!st->is_null(4)) j.finished_at = from_ms(st->integer(4));
        j.function = spool::parse_function(st->text(5)).value_or(Function::cli);
        j.profile = st->text(6);
        j.sender = st->text(7);
        j.subject = st->text(8);
        j.size = static_cast<std::uint64_t>(st->integer(9));
        j.attempts = static_cast<int>(st->integer(10));
        j.state = spool::parse_job_state(st->text(11)).value_or(JobState::failed);
        j.code = code_column(*st, 12);
        j.detail = st->text_or_null(13).value_or("");
        j.maybe_sent = st->integer(14) != 0;
        j.transcript = st->text_or_null(15).value_or("");
        j.file = st->text_or_null(16).value_or("");
        j.queued_at = from_ms(st->integer(17));
        j.return_path = st->text(18);
        j.on_wire = st->integer(19) != 0;
        j.transport = st->text(20);
        j.reported = st->integer(21) != 0;
        j.submitter = st->text(22);
        j.dsn_notify = st->text(23);
        j.dsn_ret = st->text(24);
        j.owner = st->text_or_null(25).value_or("");
        if (!st->is_null(26)) j.lease_until = from_ms(st->integer(26));
        out.push_back(std::move(j));
    }
    auto rc = db_.cached(
        "SELECT seq, address, result, code, reply FROM job_recipients WHERE job = ? ORDER BY seq");
    if (!rc) return rc.error();
    for (auto& j : out) {
        rc->reset();
        rc->bind(1, j.id);
        for (;;) {
            auto row = rc->step();
            if (!row) return row.error();
            if (!*row) break;
            j.recipients.push_back(Recipient{
                static_cast<int>(rc->integer(0)), rc->text(1),
                spool::parse_recipient_result(rc->text(2)).value_or(RecipientResult::pending),
                code_column(*rc, 3), rc->text_or_null(4).value_or("")});
        }
    }
    return out;
}

Result<std::optional<Job>> SqliteSpool::job(JobId id) {
    std::lock_guard lock(mu_);
    auto jobs = load("WHERE id = ?1", id, 1);
    if (!jobs) return jobs.error();
    if (jobs->empty()) return std::optional<Job>{};
    return std::optional<Job>{std::move(jobs->front())};
}

Result<std::vector<Job>> SqliteSpool::jobs(std::size_t limit) {
    std::lock_guard lock(mu_);
    return load("WHERE ?1 = ?1", 0, limit);
}

Result<std::vector<std::string>> SqliteSpool::profiles_where(std::string_view condition,
                                                             std::int64_t arg) {
    std::lock_guard lock(mu_);
    auto st = db_.cached("SELECT DISTINCT profile FROM jobs WHERE " + std::string(condition));
    if (!st) return st.error();
    st->bind(1, arg);
    std::vector<std::string> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out.push_back(st->text(0));
    }
    return out;
}

Result<std::vector<std::string>> SqliteSpool::held_profiles() {
    return profiles_where("state = 'held' AND ?1 = ?1", 0);
}

Result<std::map<std::string, std::int64_t>> SqliteSpool::count_by_state() {
    std::lock_guard lock(mu_);
    auto st = db_.cached("SELECT state, COUNT(*) FROM jobs GROUP BY state");
    if (!st) return st.error();
    std::map<std::string, std::int64_t> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out[st->text(0)] = st->integer(1);
    }
    return out;
}

Result<std::map<std::string, TimePoint>> SqliteSpool::oldest_waiting(bool with_held) {
    std::lock_guard lock(mu_);
    auto st = db_.cached(
        "SELECT profile, MIN(created_at) FROM jobs WHERE state IN ('queued', 'sending', ?1) "
        "GROUP BY profile");
    if (!st) return st.error();
    st->bind(1, with_held ? "held" : "queued");
    std::map<std::string, TimePoint> out;
    for (;;) {
        auto row = st->step();
        if (!row) return row.error();
        if (!*row) break;
        out[st->text(0)] = from_ms(st->integer(1));
    }
    return out;
}

Result<std::vector<std::string>> SqliteSpool::due_profiles() {
    return profiles_where("state = 'queued' AND (next_attempt_at <= ?1 OR updated_at > ?1)",
                          ms(clock_.now()));
}

Result<std::optional<TimePoint>> SqliteSpool::next_due(std::optional<std::string> profile,
                                                       std::optional<TimePoint> after) {
    std::lock_guard lock(mu_);
    // A job written after now is due now (Due, above).
    auto st = db_.cached(
        "SELECT MIN(due) FROM (SELECT CASE WHEN updated_at > ?3 THEN ?3 ELSE next_attempt_at END "
        "AS due FROM jobs WHERE state = 'queued' AND (?1 IS NULL OR profile = ?1)) "
        "WHERE ?2 IS NULL OR due > ?2");
    if (!st) return st.error();
    st->bind_optional(1, profile);
    st->bind(3, ms(clock_.now()));
    if (after)
        st->bind(2, ms(*after));
    else
        st->bind_null(2);
    auto row = st->step();
    if (!row) return row.error();
    if (!*row || st->is_null(0)) return std::optional<TimePoint>{};
    return std::optional<TimePoint>{from_ms(st->integer(0))};
}

Result<std::vector<Job>> SqliteSpool::claim(const std::string& profile, std::size_t max,
                                            std::optional<JobId> only, Durability durability) {
    std::lock_guard lock(mu_);
    if (auto r = hold_owner_lock_locked(); !r) return r.error();
    const auto now = ms(clock_.now());
    std::vector<JobId> ids;
    {
        DeferredSync mode(db_, durability);
        if (auto r = mode.begin(); !r) return r.error();
        Transaction tx(db_);
        if (auto r = tx.begin(); !r) return r.error();
        auto pick =
            only ? db_.cached(
                       "SELECT id FROM jobs WHERE id = ?3 AND profile = ?1 AND state = 'queued'")
                 : db_.cached(
                       "SELECT id FROM jobs WHERE profile = ?1 AND state = 'queued' AND "
                       "(next_attempt_at <= ?2 OR updated_at > ?2) "
                       "ORDER BY next_attempt_at, id LIMIT ?4");
        if (!pick) return pick.error();
        pick->bind(1, profile)
            .bind(2, now)
            .bind(3, only.value_or(0))
            .bind(4, static_cast<std::int64_t>(max));
        for (;;) {
            auto row = pick->step();
            if (!row) return row.error();
            if (!*row) break;
            ids.push_back(pick->integer(0));
        }
        auto up = db_.cached(
            "UPDATE jobs SET state = 'sending', attempts = attempts + 1, on_wire = 0, updated_at = "
            "?2, owner = ?3, lease_until = ?4 WHERE id = ?1");
        if (!up) return up.error();
        const auto lease_until = ms(clock_.now() + spool::kLeaseLength);
        for (const JobId id : ids) {
            up->reset();
            up->bind(1, id).bind(2, now).bind(3, owner_).bind(4, lease_until);
            if (auto r = up->run(); !r) return r.error();
        }
        if (auto r = tx.commit(); !r) return r.error();
        if (!ids.empty()) committed_locked(durability);
    }
    std::vector<Job> out;
    for (const JobId id : ids) {
        auto j = load("WHERE id = ?1", id, 1);
        if (!j) return j.error();
        if (!j->empty()) out.push_back(std::move(j->front()));
    }
    return out;
}

Result<void> SqliteSpool::unclaim(std::span<const JobId> ids) {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r.error();
    auto up = db_.cached(
        "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), updated_at = ?2, "
        "owner = NULL, lease_until = NULL WHERE id = ?1 AND state = 'sending'");
    if (!up) return up.error();
    for (const JobId id : ids) {
        up->reset();
        up->bind(1, id).bind(2, ms(clock_.now()));
        if (auto r = up->run(); !r) return r.error();
    }
    if (auto r = tx.commit(); !r) return r.error();
    committed_locked(Durability::synced);
    return {};
}

Result<void> SqliteSpool::quarantine_locked(const Job& job, const Error& why) {
    const std::string where = bodies_->quarantine(job.file);
    auto st = db_.cached(
        "UPDATE jobs SET state = 'failed', code = ?2, detail = ?3, file = NULL, updated_at = ?4, "
        "finished_at = ?4, next_attempt_at = NULL, owner = NULL, lease_until = NULL WHERE id = ?1");
    if (!st) return st.error();
    st->bind(1, job.id)
        .bind(2, static_cast<std::int64_t>(Errc::spool_unwritable))
        .bind(3, why.detail + "; " + where)
        .bind(4, ms(clock_.now()));
    return st->run();
}

Result<std::unique_ptr<ByteSource>> SqliteSpool::open_message(const Job& job) {
    if (job.file.empty())
        return fail(Errc::spool_unwritable,
                    "job " + std::to_string(job.id) + " has no message file");
    auto reader = bodies_->read(job.file, job.size, job.id);
    if (!reader) {
        std::lock_guard lock(mu_);
        Transaction tx(db_);
        if (auto r = tx.begin(); !r) return r.error();
        if (auto q = quarantine_locked(job, reader.error()); !q) return q.error();
        if (auto f = follow_up_locked(job.id, ms(clock_.now())); !f) return f.error();
        if (auto r = tx.commit(); !r) return r.error();
        committed_locked(Durability::synced);
        return reader.error();
    }
    return reader;
}

Result<void> SqliteSpool::finish_attempts(std::span<const std::pair<JobId, Attempt>> attempts,
                                          Durability durability, std::span<const JobId> going_out) {
    std::unique_lock lock(mu_);
    const auto now = ms(clock_.now());
    std::vector<std::string> drop_files;
    {
        DeferredSync mode(db_, durability);
        if (auto r = mode.begin(); !r) return r.error();
        Transaction tx(db_);
        if (auto r = tx.begin(); !r) return r.error();
        for (const auto& [id, a] : attempts) {
            std::optional<std::string> drop_file;
            if (a.state == JobState::sent) {
                auto f = db_.cached("SELECT file FROM jobs WHERE id = ?");
                if (!f) return f.error();
                f->bind(1, id);
                if (auto row = f->step(); row && *row) drop_file = f->text_or_null(0);
            }
            auto st = db_.cached(
                "UPDATE jobs SET state = ?2, code = ?3, detail = ?4, maybe_sent = MAX(maybe_sent, "
                "?5), "
                "transcript = "
                "COALESCE(?6, transcript), "
                "next_attempt_at = ?7, finished_at = ?8, updated_at = ?9, file = CASE WHEN ?2 = "
                "'sent' "
                "THEN NULL ELSE file END, "
                "transport = CASE WHEN ?10 = '' THEN transport ELSE ?10 END, "
                "owner = CASE WHEN ?2 = 'sending' THEN owner END, "
                "lease_until = CASE WHEN ?2 = 'sending' THEN lease_until END "
                "WHERE id = ?1");
            if (!st) return st.error();
            st->bind(1, id)
                .bind(2, to_string(a.state))
                .bind(5, std::int64_t{a.maybe_sent ? 1 : 0})
                .bind_optional(6, a.transcript)
                .bind(9, now)
                .bind(10, a.transport);
            if (a.error) {
                st->bind(3, static_cast<std::int64_t>(a.error->code)).bind(4, a.error->detail);
            } else {
                st->bind_null(3).bind_null(4);
            }
            if (a.next_attempt_at)
                st->bind(7, ms(*a.next_attempt_at));
            else
                st->bind_null(7);
            if (is_final(a.state))
                st->bind(8, now);
            else
                st->bind_null(8);
            if (auto r = st->run(); !r) return r.error();
            auto rc = db_.cached(
                "UPDATE job_recipients SET result = ?3, code = ?4, reply = ?5 WHERE job = ?1 AND "
                "seq = "
                "?2");
            if (!rc) return rc.error();
            for (const auto& r : a.recipients) {
                rc->reset();
                rc->bind(1, id)
                    .bind(2, std::int64_t{r.seq})
                    .bind(3, to_string(r.result))
                    .bind(5, r.reply);
                if (r.code)
                    rc->bind(4, static_cast<std::int64_t>(*r.code));
                else
                    rc->bind_null(4);
                if (auto x = rc->run(); !x) return x.error();
            }
            if (drop_file && !drop_file->empty()) drop_files.push_back(std::move(*drop_file));
            if (is_final(a.state) && a.state != JobState::sent)
                if (auto r = follow_up_locked(id, now); !r) return r.error();
        }
        if (!going_out.empty()) {
            auto mark =
                db_.cached("UPDATE jobs SET on_wire = 1 WHERE id = ?1 AND state = 'sending'");
            if (!mark) return mark.error();
            for (const JobId id : going_out) {
                mark->reset();
                mark->bind(1, id);
                if (auto r = mark->run(); !r) return r.error();
            }
        }
        if (auto r = tx.commit(); !r) return r.error();
    }
    // Only once the commit is durable: a crash in between leaves a file that
    // recover() sweeps, never a job without its message.
    for (auto& f : drop_files) unsynced_drops_.emplace_back(written_ + 1, std::move(f));
    committed_locked(durability);
    if (durability == Durability::deferred) return {};
    lock.unlock();
    remove_freed();
    return {};
}

void SqliteSpool::committed_locked(Durability durability) {
    ++written_;
    // A synced commit syncs the whole log, with every deferred commit in it.
    if (durability == Durability::synced) synced_locked(written_);
}

void SqliteSpool::synced_locked(std::uint64_t upto) {
    synced_ = std::max(synced_, upto);
    auto durable = [&](const auto& d) { return d.first <= synced_; };
    for (auto& d : unsynced_drops_)
        if (durable(d)) freed_.push_back(std::move(d.second));
    std::erase_if(unsynced_drops_, durable);
}

void SqliteSpool::remove_freed() {
    std::vector<std::string> files;
    {
        std::lock_guard lock(mu_);
        files.swap(freed_);
    }
    // Unlinks are journal work for the file system, a tenth of a millisecond
    // each on ext4 under load: kept out of the lock and off the sending path.
    for (const auto& f : files) bodies_->remove(f);
}

Result<void> SqliteSpool::sync() {
    std::uint64_t upto = 0;
    {
        std::lock_guard lock(mu_);
        if (synced_ >= written_) return {};
        upto = written_;
    }
    // A sync of the log file is a sync of every commit written to it before,
    // and any descriptor of the file will do, a read-only one too. The lock
    // is not held meanwhile: commits go on, and the next sync takes them.
    const fs::path wal = db_.path().string() + "-wal";
    std::error_code ec;
    if (fs::exists(wal, ec)) {  // else checkpointed and gone: a checkpoint syncs the database
        auto fd = ops_.open_read(wal);
        if (!fd)
            return fail(Errc::spool_unwritable,
                        "cannot sync delivery results: " + fd.error().detail);
        spool::Fd guard(ops_, *fd);
        if (auto r = ops_.fsync(*fd); !r)
            return fail(Errc::spool_unwritable,
                        "cannot sync delivery results: " + r.error().detail);
    }
    std::lock_guard lock(mu_);
    synced_locked(upto);
    return {};
}

Result<std::size_t> SqliteSpool::release_held(const std::string& profile) {
    std::lock_guard lock(mu_);
    auto st = db_.cached(
        "UPDATE jobs SET state = 'queued', next_attempt_at = ?2, updated_at = ?2 WHERE profile = "
        "?1 AND state = 'held'");
    if (!st) return st.error();
    st->bind(1, profile).bind(2, ms(clock_.now()));
    if (auto r = st->run(); !r) return r.error();
    return static_cast<std::size_t>(db_.changes());
}

Result<void> SqliteSpool::retry(JobId id) {
    std::lock_guard lock(mu_);
    auto jobs = load("WHERE id = ?1", id, 1);
    if (!jobs) return jobs.error();
    if (jobs->empty()) return fail(Errc::invalid_input, "there is no job " + std::to_string(id));
    const Job& j = jobs->front();
    // A queued job is made due now (postqueue -i); one being sent is left alone.
    if (j.state == JobState::sending)
        return fail(Errc::invalid_input, "job " + std::to_string(id) + " is being sent now");
    if (j.file.empty())
        return fail(Errc::invalid_input, "job " + std::to_string(id) +
                                             " has no message left to send (" +
                                             std::string(to_string(j.state)) + ")");
    const auto now = ms(clock_.now());
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r.error();
    // queued_at restarts: delivery.max_age counts from the retry, or an old
    // job retried by hand would give up at once.
    if (auto r = db_.cached("UPDATE jobs SET state = 'queued', next_attempt_at = ?2, queued_at = "
                            "?2, updated_at = ?2, finished_at = NULL "
                            "WHERE id = ?1");
        !r) {
        return r.error();
    } else if (auto x = r->bind(1, id).bind(2, now).run(); !x) {
        return x;
    }
    if (auto r = db_.cached(
            "UPDATE job_recipients SET result = 'pending' WHERE job = ? AND result = 'rejected'");
        !r) {
        return r.error();
    } else if (auto x = r->bind(1, id).run(); !x) {
        return x;
    }
    return tx.commit();
}

Result<void> SqliteSpool::renew_leases() {
    std::lock_guard lock(mu_);
    if (owner_fd_ < 0) return {};  // never claimed: nothing to renew
    auto st = db_.cached("UPDATE jobs SET lease_until = ?2 WHERE owner = ?1 AND state = 'sending'");
    if (!st) return st.error();
    return st->bind(1, owner_).bind(2, ms(clock_.now() + spool::kLeaseLength)).run();
}

Result<std::size_t> SqliteSpool::recover_expired() {
    std::lock_guard lock(mu_);
    const auto now = ms(clock_.now());
    // Whose jobs are in `sending`, and whether each owner is gone: looked
    // at before the transaction, since a lock file is tested by locking it.
    std::vector<std::string> gone;
    {
        auto st = db_.cached(
            "SELECT owner, MIN(lease_until) FROM jobs WHERE state = 'sending' GROUP BY owner");
        if (!st) return st.error();
        std::vector<std::pair<std::string, std::optional<std::int64_t>>> seen;
        for (;;) {
            auto row = st->step();
            if (!row) return row.error();
            if (!*row) break;
            seen.emplace_back(
                st->text_or_null(0).value_or(""),
                st->is_null(1) ? std::nullopt : std::optional<std::int64_t>(st->integer(1)));
        }
        for (const auto& [owner, lease] : seen) {
            if (owner == owner_) continue;  // ours: we know what we are sending
            std::error_code ec;
            const bool testable = !owner.empty() && fs::exists(owner_lock(owner), ec);
            // A live owner on this host keeps its jobs whatever the clock
            // says; one that cannot be tested goes by its lease.
            if (testable ? owner_dead(owner) : (!lease || *lease < now)) gone.push_back(owner);
        }
    }
    if (gone.empty()) return std::size_t{0};
    std::size_t requeued = 0;
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r.error();
    // Reserved, never sent: back as they were, as unclaim() does.
    auto reserved = db_.cached(
        "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), updated_at = ?1, "
        "owner = NULL, lease_until = NULL "
        "WHERE state = 'sending' AND on_wire = 0 AND COALESCE(owner, '') = ?2");
    if (!reserved) return reserved.error();
    auto wire = db_.cached(
        "UPDATE jobs SET state = 'queued', maybe_sent = 1, next_attempt_at = ?1, updated_at = ?1, "
        "owner = NULL, lease_until = NULL, "
        "detail = 'the process delivering it stopped; if it stopped at end of data, this resend "
        "may duplicate it' "
        "WHERE state = 'sending' AND COALESCE(owner, '') = ?2");
    if (!wire) return wire.error();
    for (const auto& owner : gone) {
        for (Stmt* st : {&*reserved, &*wire}) {
            st->reset();
            st->bind(1, now).bind(2, owner);
            if (auto r = st->run(); !r) return r.error();
            requeued += static_cast<std::size_t>(db_.changes());
        }
    }
    if (auto r = tx.commit(); !r) return r.error();
    committed_locked(Durability::synced);
    return requeued;
}

Result<std::size_t> SqliteSpool::sweep_orphans(Duration orphan_age) {
    // Lock files of owners that died with nothing in `sending` (those with
    // jobs are recovery's): a lock that can be taken is nobody's.
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(bodies_->dir() / "owners", ec)) {
        const std::string name = entry.path().filename().string();
        if (name == owner_ + ".lock" || !name.ends_with(".lock")) continue;
        const std::string owner = name.substr(0, name.size() - 5);
        bool sending = true;
        {
            std::lock_guard lock(mu_);
            auto st = db_.cached("SELECT 1 FROM jobs WHERE owner = ?1 AND state = 'sending'");
            if (!st) return st.error();
            st->bind(1, owner);
            auto row = st->step();
            if (!row) return row.error();
            sending = *row;
        }
        if (!sending) (void)owner_dead(owner);  // removes the file when so
    }
    // Bodies that never became a job (a crash between writing and commit).
    return bodies_->sweep(
        [this](const std::string& name) -> Result<bool> {
            std::lock_guard lock(mu_);
            auto known = db_.cached("SELECT 1 FROM jobs WHERE file = ?");
            if (!known) return known.error();
            known->bind(1, name);
            return known->step();
        },
        orphan_age);
}

Result<std::size_t> SqliteSpool::prune(const spool::Retention& r) {
    std::lock_guard lock(mu_);
    const auto oldest = ms(clock_.now() - r.max_age);
    std::vector<std::pair<JobId, std::string>> doomed;
    auto pick = db_.cached(
        "SELECT id, file FROM jobs WHERE state IN ('sent', 'partial', 'failed') AND "
        "(finished_at < ?1 OR id NOT IN (SELECT id FROM jobs WHERE state IN ('sent', 'partial', "
        "'failed') "
        "ORDER BY id DESC LIMIT ?2))");
    if (!pick) return pick.error();
    pick->bind(1, oldest).bind(2, r.max_jobs);
    for (;;) {
        auto row = pick->step();
        if (!row) return row.error();
        if (!*row) break;
        doomed.emplace_back(pick->integer(0), pick->text_or_null(1).value_or(""));
    }
    if (doomed.empty()) return std::size_t{0};
    {
        Transaction tx(db_);
        if (auto x = tx.begin(); !x) return x.error();
        auto dj = db_.cached("DELETE FROM jobs WHERE id = ?");
        auto dr = db_.cached("DELETE FROM job_recipients WHERE job = ?");
        if (!dj) return dj.error();
        if (!dr) return dr.error();
        for (const auto& [id, file] : doomed) {
            dr->reset();
            dj->reset();
            if (auto x = dr->bind(1, id).run(); !x) return x.error();
            if (auto x = dj->bind(1, id).run(); !x) return x.error();
        }
        if (auto x = tx.commit(); !x) return x.error();
    }
    for (const auto& [id, file] : doomed)
        if (!file.empty()) bodies_->remove(file);
    return doomed.size();
}

}  // namespace pb::sqlite
