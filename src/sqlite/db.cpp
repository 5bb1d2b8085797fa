#include "sqlite/db.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <chrono>

namespace pb::sqlite {
namespace {

// How long a statement waits for another connection's lock (serve's
// delivery and a command's intake share the file) before it fails.
constexpr std::chrono::milliseconds kBusyTimeout{10'000};

Error sqlite_error(sqlite3* db, int rc, std::string_view what, const std::filesystem::path& p) {
    const char* msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    const int primary = rc & 0xFF;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
        return fail(Errc::invalid_input,
                    fmt::format("{} is corrupt or not a postbridge state file ({}): restore it "
                                "from a backup, or move it away to start afresh",
                                p.string(), msg));
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return fail(Errc::spool_unwritable,
                    fmt::format("another process held the state database {} locked for longer "
                                "than {} s ({}): try again once it lets go",
                                p.string(), kBusyTimeout.count() / 1000, msg));
    // A full disk, as the file system's ENOSPC is: space may come back.
    return fail(Errc::spool_unwritable, fmt::format("{} ({}): {}", what, p.string(), msg),
                primary == SQLITE_FULL ? ENOSPC : 0);
}

}  // namespace

Stmt::~Stmt() {
    if (cache_ && s_)
        cache_->give_back(s_);
    else
        sqlite3_finalize(s_);
}

StmtCache::~StmtCache() {
    for (auto& [sql, s] : idle_) sqlite3_finalize(s);
}

sqlite3_stmt* StmtCache::take(std::string_view sql) {
    std::lock_guard lock(mu_);
    auto it = idle_.find(sql);
    if (it == idle_.end()) return nullptr;
    sqlite3_stmt* s = it->second;
    idle_.erase(it);
    return s;
}

void StmtCache::give_back(sqlite3_stmt* s) {
    // Reset ends a read the statement may still hold open (a reader keeps
    // the WAL from being checkpointed past it); the bindings go too, so the
    // next user starts from NULLs as with a fresh statement.
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    std::lock_guard lock(mu_);
    idle_.emplace(sqlite3_sql(s), s);
}

Stmt& Stmt::bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
}
Stmt& Stmt::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
}
Stmt& Stmt::bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
}

Result<bool> Stmt::step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    const char* file = sqlite3_db_filename(db_, "main");
    return sqlite_error(db_, rc, "database step failed", file ? file : "");
}

Result<void> Stmt::run() {
    for (;;) {
        auto r = step();
        if (!r) return std::move(r).error();
        if (!*r) break;
    }
    reset();
    return {};
}

std::string Stmt::text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
}

std::optional<std::string> Stmt::text_or_null(int col) const {
    if (is_null(col)) return std::nullopt;
    return text(col);
}

Result<Db> Db::open(const std::filesystem::path& file) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(
        file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
        nullptr);
    Db db(raw, file);
    if (rc != SQLITE_OK) return sqlite_error(raw, rc, "cannot open the database", file);
    sqlite3_busy_timeout(raw, static_cast<int>(kBusyTimeout.count()));
    if (auto r =
            db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
        !r)
        return std::move(r).error();
    return db;
}

Result<void> Db::exec(std::string_view sql) {
    const std::string s(sql);
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "database statement failed", path_);
    return {};
}

Result<Stmt> Db::prepare(std::string_view sql) {
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "cannot prepare a statement", path_);
    return Stmt(db_, s);
}

Result<Stmt> Db::cached(std::string_view sql) {
    if (sqlite3_stmt* s = cache_->take(sql)) {
        Stmt st(db_, s);
        st.cache_ = cache_.get();
        return st;
    }
    auto fresh = prepare(sql);
    if (!fresh) return fresh.error();
    fresh->cache_ = cache_.get();
    return fresh;
}

Error Db::error(std::string_view what) const {
    return sqlite_error(db_, sqlite3_errcode(db_), what, path_);
}

}  // namespace pb::sqlite
