// The store's rows in SQLite (sqlite/store.hpp).
#include "sqlite/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "sqlite/file_lock.hpp"

namespace pb::sqlite {
namespace fs = std::filesystem;
using store::User;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const fs::path& dir, Random& rng,
                                                       const Clock& clock,
                                                       const store::Options& opts) {
    if (auto r = store::make_state_dir(dir); !r) return std::move(r).error();
    auto key = store::resolve_key(dir, opts, rng);
    if (!key) return std::move(key).error();
    // Made 0600 before SQLite first sees it; its -wal and -shm files follow
    // suit. Only when it does not exist yet: closing any descriptor of the
    // file drops every POSIX lock this process holds on it, SQLite's
    // included, and another process would then check the WAL away under a
    // connection that is still open here.
    const fs::path db_file = database_path(dir);
    if (struct stat st{}; ::stat(db_file.c_str(), &st) != 0) {
        if (const int fd = ::open(db_file.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
            fd >= 0)
            ::close(fd);
    }
    auto db = Db::open(db_file);
    if (!db) return std::move(db).error();
    std::unique_ptr<SqliteStore> s(new SqliteStore(dir, std::move(*db), *key, rng, clock));
    if (auto r = s->migrate(); !r) return std::move(r).error();

    if (auto r = s->check_key(); !r) return std::move(r).error();
    return s;
}

int SqliteStore::schema_version() {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("PRAGMA user_version");
    if (!st || !st->step().ok()) return -1;
    return static_cast<int>(st->integer(0));
}

Result<void> SqliteStore::migrate() {
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r;
    const int current = schema_version();
    const auto all = migrations();
    if (!all.empty() && current > all.back().version)
        return fail(Errc::invalid_input,
                    fmt::format("{} was written by a newer postbridge (schema {}, this one knows "
                                "{}): upgrade postbridge",
                                db_.path().string(), current, all.back().version));
    for (const auto& m : all) {
        if (m.version <= current) continue;
        if (auto r = db_.exec(m.sql); !r) return r;
        if (auto r = db_.exec(fmt::format("PRAGMA user_version = {}", m.version)); !r) return r;
    }
    return tx.commit();
}

Result<settings::Settings> SqliteStore::load_settings() {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT key, value FROM settings");
    if (!st) return std::move(st).error();
    std::map<std::string, std::string> values;
    for (;;) {
        auto row = st->step();
        if (!row) return std::move(row).error();
        if (!*row) break;
        values[st->text(0)] = st->text(1);
    }
    return settings::Settings(std::move(values));
}

Result<void> SqliteStore::write_settings(const std::vector<SettingWrite>& writes, bool replace) {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r;
    if (replace) {
        if (auto r =
                db_.exec("DELETE FROM settings; DELETE FROM sealed WHERE name LIKE 'setting:%';");
            !r)
            return r;
    }
    if (auto r = write_settings_locked(writes); !r) return r;
    return tx.commit();
}

Result<void> SqliteStore::write_settings_locked(const std::vector<SettingWrite>& writes) {
    auto upsert = db_.cached(
        "INSERT INTO settings(key, value) VALUES(?1, ?2) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!upsert) return std::move(upsert).error();
    auto erase = db_.cached("DELETE FROM settings WHERE key = ?1");
    if (!erase) return std::move(erase).error();
    auto seal = db_.cached(
        "INSERT INTO sealed(name, value) VALUES(?1, ?2) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    if (!seal) return std::move(seal).error();
    auto unseal = db_.cached("DELETE FROM sealed WHERE name = ?1");
    if (!unseal) return std::move(unseal).error();
    for (const auto& w : writes) {
        const std::string name = w.secret ? "setting:" + w.key : w.key;
        Stmt& st = w.value && !w.value->empty() ? (w.secret ? *seal : *upsert)
                                                : (w.secret ? *unseal : *erase);
        st.reset();
        st.bind(1, name);
        if (w.value && !w.value->empty()) st.bind(2, *w.value);
        if (auto r = st.run(); !r) return r;
    }
    return {};
}

Result<std::optional<std::string>> SqliteStore::read_sealed(const std::string& name) {
    std::lock_guard lock(mu_);
    auto st = db_.cached("SELECT value FROM sealed WHERE name = ?1");
    if (!st) return std::move(st).error();
    st->bind(1, name);
    auto row = st->step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<std::string>{};
    return std::optional<std::string>(st->text(0));
}

Result<void> SqliteStore::write_sealed(const std::string& name,
                                       const std::optional<std::string>& sealed) {
    std::lock_guard lock(mu_);
    if (!sealed) {
        auto st = db_.cached("DELETE FROM sealed WHERE name = ?1");
        if (!st) return std::move(st).error();
        return st->bind(1, name).run();
    }
    auto st = db_.cached(
        "INSERT INTO sealed(name, value) VALUES(?1, ?2) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    if (!st) return std::move(st).error();
    return st->bind(1, name).bind(2, *sealed).run();
}

Result<void> SqliteStore::insert_user(const User& user, const SettingWrite& sender) {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r;
    auto st = db_.prepare("INSERT INTO users(name, email, created_at) VALUES(?1, ?2, ?3)");
    if (!st) return std::move(st).error();
    if (auto r = st->bind(1, user.name).bind(2, user.email).bind(3, user.created_at).run(); !r) {
        auto exists = db_.prepare("SELECT 1 FROM users WHERE name = ?1");
        auto found = exists ? exists->bind(1, user.name).step() : Result<bool>(false);
        if (found && *found)
            return fail(Errc::invalid_input,
                        fmt::format("user '{}' is already registered", user.name));
        return r;
    }
    if (auto r = write_settings_locked({sender}); !r) return r;
    return tx.commit();
}

Result<std::unique_ptr<store::Store::Lock>> SqliteStore::lock(std::string_view name) {
    auto held = FileLock::acquire(FileLock::path_for(dir(), name));
    if (!held) return std::move(held).error();
    return std::unique_ptr<Lock>(std::move(*held));
}

Result<void> SqliteStore::remove_user(const std::string& name) {
    std::lock_guard lock(mu_);
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r;
    auto st = db_.prepare("DELETE FROM users WHERE name = ?1");
    if (!st) return std::move(st).error();
    if (auto r = st->bind(1, name).run(); !r) return r;
    if (db_.changes() == 0) return fail(Errc::invalid_input, fmt::format("no user '{}'", name));
    const std::string prefix = "user:" + name + ".";
    auto del = db_.prepare("DELETE FROM settings WHERE substr(key, 1, ?2) = ?1");
    if (!del) return std::move(del).error();
    if (auto r = del->bind(1, prefix).bind(2, static_cast<std::int64_t>(prefix.size())).run(); !r)
        return r;
    auto del_sealed = db_.prepare("DELETE FROM sealed WHERE name = ?1 OR substr(name, 1, ?3) = ?2");
    if (!del_sealed) return std::move(del_sealed).error();
    const std::string sprefix = "setting:" + prefix;
    if (auto r = del_sealed->bind(1, "token:user:" + name)
                     .bind(2, sprefix)
                     .bind(3, static_cast<std::int64_t>(sprefix.size()))
                     .run();
        !r)
        return r;
    return tx.commit();
}

Result<std::vector<User>> SqliteStore::users() {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT name, email, created_at FROM users ORDER BY name");
    if (!st) return std::move(st).error();
    std::vector<User> out;
    for (;;) {
        auto row = st->step();
        if (!row) return std::move(row).error();
        if (!*row) break;
        out.push_back({st->text(0), st->text(1), st->integer(2)});
    }
    return out;
}

Result<void> SqliteStore::put_credential(const std::string& kind, const std::string& name,
                                         const std::string& hash) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "INSERT INTO credentials(kind, name, hash, created_at) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(kind, name) DO UPDATE SET hash = excluded.hash");
    if (!st) return std::move(st).error();
    return st->bind(1, kind)
        .bind(2, name)
        .bind(3, hash)
        .bind(4, std::chrono::duration_cast<std::chrono::seconds>(clock().now().time_since_epoch())
                     .count())
        .run();
}

Result<std::optional<std::string>> SqliteStore::credential(const std::string& kind,
                                                           const std::string& name) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT hash FROM credentials WHERE kind = ?1 AND name = ?2");
    if (!st) return std::move(st).error();
    st->bind(1, kind).bind(2, name);
    auto row = st->step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<std::string>{};
    return std::optional<std::string>(st->text(0));
}

Result<std::vector<std::pair<std::string, std::int64_t>>> SqliteStore::credentials(
    const std::string& kind) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT name, created_at FROM credentials WHERE kind = ?1 ORDER BY name");
    if (!st) return std::move(st).error();
    st->bind(1, kind);
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (;;) {
        auto row = st->step();
        if (!row) return std::move(row).error();
        if (!*row) break;
        out.emplace_back(st->text(0), st->integer(1));
    }
    return out;
}

Result<bool> SqliteStore::remove_credential(const std::string& kind, const std::string& name) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("DELETE FROM credentials WHERE kind = ?1 AND name = ?2");
    if (!st) return std::move(st).error();
    if (auto r = st->bind(1, kind).bind(2, name).run(); !r) return std::move(r).error();
    return db_.changes() > 0;
}

namespace {

// A row of `SELECT condition, raised_at, mailed_at, text FROM alerts`.
store::Store::Alert alert_row(const Stmt& st) {
    store::Store::Alert a{st.text(0), st.integer(1), std::nullopt, st.text(3)};
    if (!st.is_null(2)) a.mailed_at = st.integer(2);
    return a;
}

}  // namespace

Result<std::vector<store::Store::Alert>> SqliteStore::alerts() {
    std::lock_guard lock(mu_);
    auto st =
        db_.prepare("SELECT condition, raised_at, mailed_at, text FROM alerts ORDER BY condition");
    if (!st) return std::move(st).error();
    std::vector<Alert> out;
    for (;;) {
        auto row = st->step();
        if (!row) return std::move(row).error();
        if (!*row) break;
        out.push_back(alert_row(*st));
    }
    return out;
}

Result<bool> SqliteStore::raise_alert(const std::string& condition, const std::string& text,
                                      std::int64_t now_ms,
                                      std::optional<std::int64_t> mail_every_ms) {
    std::lock_guard lock(mu_);
    auto up = db_.prepare(
        "INSERT INTO alerts (condition, raised_at, mailed_at, text) VALUES (?1, ?2, NULL, ?3) "
        "ON CONFLICT (condition) DO UPDATE SET text = ?3");
    if (!up) return std::move(up).error();
    if (auto r = up->bind(1, condition).bind(2, now_ms).bind(3, text).run(); !r)
        return std::move(r).error();
    if (!mail_every_ms) return false;
    auto claim = db_.prepare(
        "UPDATE alerts SET mailed_at = ?2 WHERE condition = ?1 AND "
        "(mailed_at IS NULL OR mailed_at <= ?2 - ?3)");
    if (!claim) return std::move(claim).error();
    if (auto r = claim->bind(1, condition).bind(2, now_ms).bind(3, *mail_every_ms).run(); !r)
        return std::move(r).error();
    return db_.changes() > 0;
}

Result<void> SqliteStore::unmark_alert_mail(const std::string& condition) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("UPDATE alerts SET mailed_at = NULL WHERE condition = ?1");
    if (!st) return std::move(st).error();
    return st->bind(1, condition).run();
}

Result<std::optional<store::Store::Alert>> SqliteStore::clear_alert(const std::string& condition) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "DELETE FROM alerts WHERE condition = ?1 RETURNING condition, raised_at, mailed_at, text");
    if (!st) return std::move(st).error();
    st->bind(1, condition);
    auto row = st->step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<Alert>{};
    Alert a = alert_row(*st);
    // Finish the statement: the delete is done when it is stepped to its end.
    while (true) {
        auto more = st->step();
        if (!more) return std::move(more).error();
        if (!*more) break;
    }
    return std::optional<Alert>{std::move(a)};
}

}  // namespace pb::sqlite
