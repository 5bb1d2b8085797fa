// The state database's schema, as a list of migrations. Append only: a
// migration that has shipped is never edited, so every store upgrades the
// same way whatever version it starts from.
#include "sqlite/store.hpp"

#include <array>

namespace pb::sqlite {
namespace {

constexpr std::array kMigrations = {
    Migration{1, R"sql(
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Secrets and tokens, sealed (AES-256-GCM, bound to `name`).
CREATE TABLE sealed (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- Password hashes: the administrator, API tokens, relay device accounts.
CREATE TABLE credentials (
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
)sql"},
    // The spool's jobs and the job history (src/spool). Times are unix
    // milliseconds. AUTOINCREMENT: a job number is never reused after
    // retention removes the job, so an old report never names a new job.
    Migration{2, R"sql(
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    queued_at       INTEGER NOT NULL,  -- delivery.max_age counts from here
    next_attempt_at INTEGER,
    finished_at     INTEGER,
    function        TEXT NOT NULL,
    profile         TEXT NOT NULL,
    sender          TEXT NOT NULL,
    subject         TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    state           TEXT NOT NULL,
    code            INTEGER,
    detail          TEXT,
    maybe_sent      INTEGER NOT NULL DEFAULT 0,
    transcript      TEXT,
    file            TEXT
);
CREATE INDEX jobs_due ON jobs (state, profile, next_attempt_at);
CREATE INDEX jobs_file ON jobs (file);
CREATE TABLE job_recipients (
    job     INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    address TEXT NOT NULL,
    result  TEXT NOT NULL DEFAULT 'pending',
    code    INTEGER,
    reply   TEXT,
    PRIMARY KEY (job, seq)
);
)sql"},
    // A relayed job's original envelope sender, for its delivery report
    // (it was kept in memory only, and lost when serve restarted).
    Migration{3, R"sql(
ALTER TABLE jobs ADD COLUMN return_path TEXT NOT NULL DEFAULT '';
)sql"},
    // Whether a job being sent may have reached the server: a claim clears
    // it, delivery sets it just before the message goes out. After a crash
    // only such jobs come back flagged maybe_sent. 1 for rows from before:
    // a job left `sending` by an older version may have gone out.
    Migration{4, R"sql(
ALTER TABLE jobs ADD COLUMN on_wire INTEGER NOT NULL DEFAULT 1;
)sql"},
    // The transport a job's last attempt went out over ('smtp' or 'graph'),
    // for `jobs show` and the Job Status page: with transport auto a
    // profile's jobs may take either. '' for rows from before, and for jobs
    // not tried yet.
    Migration{5, R"sql(
ALTER TABLE jobs ADD COLUMN transport TEXT NOT NULL DEFAULT '';
)sql"},
    // Whether a job's failure report was made: set in the transaction that
    // made the job final, with the report's own job (spool::Reporter), so
    // that a report is made exactly once across crashes. Replaces the relay's
    // file of reported jobs. And the administrator's alerts: one row per
    // condition, so that a mail goes at most once a day per condition,
    // across restarts and instances.
    Migration{6, R"sql(
ALTER TABLE jobs ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
CREATE TABLE alerts (
    condition  TEXT PRIMARY KEY,  -- e.g. 'signin-lapse:email'
    raised_at  INTEGER NOT NULL,  -- unix ms: when it was first seen this time
    mailed_at  INTEGER,           -- unix ms: the last mail about it
    text       TEXT NOT NULL      -- what the last mail said
);
)sql"},
    // The local user who handed a job to serve over the local submission
    // socket ('' for everyone else's): mailq shows a local user their own.
    // And the RFC 3461 parameters sendmail -N and -R asked for ('' none).
    Migration{7, R"sql(
ALTER TABLE jobs ADD COLUMN submitter TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN dsn_notify TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN dsn_ret TEXT NOT NULL DEFAULT '';
)sql"},
    // A job being sent belongs to its claimer (`owner`) until `lease_until`
    // (unix ms), which the owner renews while it sends: recovery takes back
    // the jobs whose lease ran out or whose owner died, not "whatever is in
    // sending" (spool/spool.hpp).
    Migration{8, R"sql(
ALTER TABLE jobs ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN lease_until INTEGER;
CREATE INDEX jobs_owner ON jobs(owner) WHERE state = 'sending';
)sql"},
};

}  // namespace

std::span<const Migration> migrations() {
    return kMigrations;
}

}  // namespace pb::sqlite
