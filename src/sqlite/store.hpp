// The local backend's store: one SQLite database in the state directory
// (WAL, synchronous=FULL) with versioned migrations, and flock files for the
// named locks.
//
//   STATE/postbridge.db   settings, sealed secrets, users, credentials,
//                         alerts, jobs (the spool's tables: sqlite/spool.hpp)
//   STATE/NAME.lock       a named lock (sqlite/file_lock.hpp)
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "sqlite/db.hpp"
#include "store/store.hpp"

namespace pb::sqlite {

// One database migration: applied in order, each exactly once.
struct Migration {
    int version;
    std::string_view sql;
};
// Every migration of the state database, in order (sqlite/migrations.cpp).
std::span<const Migration> migrations();

// The database file of a state directory.
inline std::filesystem::path database_path(const std::filesystem::path& state_dir) {
    return state_dir / "postbridge.db";
}

class SqliteStore final : public store::Store {
  public:
    // Makes the state directory, the key and the database as needed, and
    // brings the schema up to date.
    static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& dir, Random& rng,
                                                     const Clock& clock,
                                                     const store::Options& opts = {});

    std::string location() const override { return db_.path().string(); }
    int schema_version() override;
    // The connection itself, for the backend's own tests.
    Db& db() { return db_; }

    Result<settings::Settings> load_settings() override;
    Result<void> remove_user(const std::string& name) override;
    Result<std::vector<store::User>> users() override;
    Result<void> put_credential(const std::string& kind, const std::string& name,
                                const std::string& hash) override;
    Result<std::optional<std::string>> credential(const std::string& kind,
                                                  const std::string& name) override;
    Result<std::vector<std::pair<std::string, std::int64_t>>> credentials(
        const std::string& kind) override;
    Result<bool> remove_credential(const std::string& kind, const std::string& name) override;
    Result<std::vector<Alert>> alerts() override;
    Result<bool> raise_alert(const std::string& condition, const std::string& text,
                             std::int64_t now_ms,
                             std::optional<std::int64_t> mail_every_ms) override;
    Result<void> unmark_alert_mail(const std::string& condition) override;
    Result<std::optional<Alert>> clear_alert(const std::string& condition) override;
    Result<std::unique_ptr<Lock>> lock(std::string_view name) override;

  protected:
    Result<void> write_settings(const std::vector<SettingWrite>& writes, bool replace) override;
    Result<std::optional<std::string>> read_sealed(const std::string& name) override;
    Result<void> write_sealed(const std::string& name,
                              const std::optional<std::string>& sealed) override;
    Result<void> insert_user(const store::User& user, const SettingWrite& sender) override;

  private:
    SqliteStore(std::filesystem::path dir, Db db, SealKey key, Random& rng, const Clock& clock)
        : Store(std::move(dir), key, rng, clock), db_(std::move(db)) {}
    Result<void> migrate();
    // Inside the caller's transaction.
    Result<void> write_settings_locked(const std::vector<SettingWrite>& writes);

    std::mutex mu_;  // one call at a time on db_
    Db db_;
};

}  // namespace pb::sqlite
