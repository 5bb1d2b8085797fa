// A thin RAII layer over SQLite: a connection, prepared statements, and
// transactions. Errors become pb::Error (651 for I/O and full disks; the
// caller adds what it was doing).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pb::sqlite {

class StmtCache;

// A prepared statement. One from Db::prepare is finalized when destroyed;
// one from Db::cached goes back to its Db's cache, reset and unbound.
class Stmt {
  public:
    Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
    Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_), cache_(o.cache_) { o.s_ = nullptr; }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& operator=(Stmt&&) = delete;
    ~Stmt();

    Stmt& bind(int i, std::string_view v);
    Stmt& bind(int i, std::int64_t v);
    Stmt& bind_null(int i);
    Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
    Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
    Stmt& bind_optional(int i, const std::optional<std::string>& v) {
        return v ? bind(i, std::string_view(*v)) : bind_null(i);
    }

    // true: a row is ready; false: done. Errors are returned, not thrown.
    Result<bool> step();
    // Runs to completion (INSERT/UPDATE/DELETE).
    Result<void> run();
    void reset() { sqlite3_reset(s_); }

    std::string text(int col) const;
    std::optional<std::string> text_or_null(int col) const;
    std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
    bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

  private:
    friend class Db;
    sqlite3* db_;
    sqlite3_stmt* s_;
    StmtCache* cache_ = nullptr;  // set: cached, given back rather than finalized
};

// The statements a Db prepared with cached(), by their SQL. A statement in
// use is out of the cache; a second user of the same SQL meanwhile gets one
// of its own.
class StmtCache {
  public:
    StmtCache() = default;
    StmtCache(const StmtCache&) = delete;
    StmtCache& operator=(const StmtCache&) = delete;
    ~StmtCache();
    sqlite3_stmt* take(std::string_view sql);
    void give_back(sqlite3_stmt* s);

  private:
    std::mutex mu_;
    std::multimap<std::string, sqlite3_stmt*, std::less<>> idle_;
};

class Db {
  public:
    // Opens (creating) the file with WAL and synchronous=FULL: a committed
    // transaction survives a power cut.
    static Result<Db> open(const std::filesystem::path& file);
    Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)), cache_(std::move(o.cache_)) {
        o.db_ = nullptr;
    }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    Db& operator=(Db&&) = delete;
    ~Db() {
        cache_.reset();  // finalizes the cached statements first
        sqlite3_close_v2(db_);
    }

    Result<void> exec(std::string_view sql);
    Result<Stmt> prepare(std::string_view sql);
    // The same, for a statement run again and again (the spool's per-job
    // queries): it is compiled once and kept.
    Result<Stmt> cached(std::string_view sql);
    std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
    int changes() const { return sqlite3_changes(db_); }
    const std::filesystem::path& path() const { return path_; }

    // BEGIN IMMEDIATE: takes the write lock up front so that two processes
    // never both read and then fail to upgrade.
    Result<void> begin() { return exec("BEGIN IMMEDIATE"); }
    Result<void> commit() { return exec("COMMIT"); }
    void rollback() { (void)exec("ROLLBACK"); }

    Error error(std::string_view what) const;

  private:
    Db(sqlite3* db, std::filesystem::path p)
        : db_(db), path_(std::move(p)), cache_(std::make_unique<StmtCache>()) {}
    sqlite3* db_;
    std::filesystem::path path_;
    std::unique_ptr<StmtCache> cache_;
};

// Rolls back unless committed.
class Transaction {
  public:
    explicit Transaction(Db& db) : db_(db) {}
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
        if (open_) db_.rollback();
    }
    Result<void> begin() {
        auto r = db_.begin();
        open_ = r.ok();
        return r;
    }
    Result<void> commit() {
        auto r = db_.commit();
        if (r) open_ = false;
        return r;
    }

  private:
    Db& db_;
    bool open_ = false;
};

}  // namespace pb::sqlite
