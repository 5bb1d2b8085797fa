// A thin RAII layer over SQLite: a connection, prepared statements, and
// transactions. Errors become pb::Error (651 for I/O and full disks; the
// caller adds what it was doing).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pb::store {

class Stmt {
  public:
    Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
    Stmt(Stmt&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& operator=(Stmt&&) = delete;
    ~Stmt() { sqlite3_finalize(s_); }

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
    sqlite3* db_;
    sqlite3_stmt* s_;
};

class Db {
  public:
    // Opens (creating) the file with WAL and synchronous=FULL: a committed
    // transaction survives a power cut.
    static Result<Db> open(const std::filesystem::path& file);
    Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;
    Db& operator=(Db&&) = delete;
    ~Db() { sqlite3_close_v2(db_); }

    Result<void> exec(std::string_view sql);
    Result<Stmt> prepare(std::string_view sql);
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
    Db(sqlite3* db, std::filesystem::path p) : db_(db), path_(std::move(p)) {}
    sqlite3* db_;
    std::filesystem::path path_;
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

}  // namespace pb::store
