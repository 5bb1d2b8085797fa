// The state directory: one SQLite database (WAL) with versioned migrations,
// the key that seals secrets, and imported CA certificates.
//
//   STATE/postbridge.db   settings, sealed secrets, users, credentials, jobs
//   STATE/key             32 random bytes, 0600 (or POSTBRIDGE_KEY instead)
//   STATE/ca/ID.pem       CA certificates imported by the administrator
//
// Secrets (passwords, client secrets, tokens) are stored sealed with
// AES-256-GCM under the key and bound to their name; a value that was
// altered or copied to another name fails to open and is reported, never
// used.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/settings.hpp"
#include "store/sqlite.hpp"

namespace pb::store {

struct Options {
    // Base64 of 32 bytes (POSTBRIDGE_KEY), for devices whose key lives in a
    // secure element; when absent the key file is used (made at first start).
    std::optional<std::string> key_base64;
};

struct User {
    std::string name;
    std::string email;
    std::int64_t created_at = 0;  // unix seconds
};

struct CaCert {
    std::string id;  // short hex of the certificate's SHA-256
    std::string subject;
    std::string issuer;
    std::string not_before;  // RFC 3339
    std::string not_after;
    std::filesystem::path file;
};

// One database migration: applied in order, each exactly once.
struct Migration {
    int version;
    std::string_view sql;
};

// The kinds of credentials (put_credential): API tokens with every right,
// and those that only read (status, jobs, metrics).
inline constexpr const char* kApiTokenKind = "api-token";
inline constexpr const char* kReadOnlyApiTokenKind = "api-token-read-only";

// Thread-safe: serve's delivery workers, the relay's sessions and the web
// thread may share one Store; each call runs alone on its connection (a
// transaction of another thread never interleaves with it).
class Store {
  public:
    static Result<std::unique_ptr<Store>> open(const std::filesystem::path& dir, Random& rng,
                                               const Clock& clock, const Options& opts = {});

    const std::filesystem::path& dir() const { return dir_; }
    Db& db() { return db_; }
    int schema_version();

    // --- settings ------------------------------------------------------
    // The non-secret values that were set.
    Result<settings::Settings> load_settings();
    // Applies all changes in one transaction, or none: every value is
    // validated first (normalize), so one bad value changes nothing. A value
    // of nullopt unsets the key. Secrets are sealed.
    // With `replace`, every other stored setting is removed in the same
    // transaction (config import --replace).
    Result<void> set_values(
        const std::vector<std::pair<std::string, std::optional<std::string>>>& changes,
        bool replace = false);
    // What `config set`, `config import` and the API do before set_values:
    // every key known, a user profile's keys only for a registered user,
    // every value normalised, and `service` followed by its preset's
    // values. Every problem is listed (each naming its key), so one answer
    // tells the whole batch's faults; with any, nothing is to be written.
    using Changes = std::vector<std::pair<std::string, std::optional<std::string>>>;
    struct CheckedChanges {
        Changes changes;  // normalised, presets expanded
        std::vector<std::string> problems;
    };
    Result<CheckedChanges> check_changes(const Changes& wanted);
    // set_values, then what it changed, for the caller to show: each key
    // whose value differs afterwards (a secret always counts, shown as
    // "(set)"; old is empty for secrets and for keys that had no value).
    struct Changed {
        std::string key, old_value, new_value;
        bool secret = false;
    };
    Result<std::vector<Changed>> apply_changes(const Changes& checked, bool replace = false);
    // Whether the secret setting `key` (e.g. "email.password") is stored.
    bool has_secret(const std::string& key);

    // --- sealed values (secrets and tokens) ----------------------------
    Result<void> put_sealed(const std::string& name, const Secret& value);
    // nullopt when absent; an error (652) when present but altered.
    Result<std::optional<Secret>> get_sealed(const std::string& name);
    Result<void> erase_sealed(const std::string& name);

    // --- users (Scan to My Email) --------------------------------------
    Result<void> add_user(const std::string& name, const std::string& email);
    Result<void> remove_user(const std::string& name);
    Result<std::vector<User>> users();

    // --- password-like credentials: admin, api tokens, relay devices ---
    // kind: "admin", "api-token", "relay-user". Only hashes are stored.
    Result<void> put_credential(const std::string& kind, const std::string& name,
                                const std::string& hash);
    Result<std::optional<std::string>> credential(const std::string& kind, const std::string& name);
    Result<std::vector<std::pair<std::string, std::int64_t>>> credentials(const std::string& kind);
    Result<bool> remove_credential(const std::string& kind, const std::string& name);

    // --- the administrator's alerts (notify.email) ----------------------
    // A condition that needs the administrator ("signin-lapse:email"): kept
    // in the database so that a mail about it goes at most once a period,
    // across restarts and instances.
    struct Alert {
        std::string condition;
        std::int64_t raised_at = 0;             // unix ms
        std::optional<std::int64_t> mailed_at;  // unix ms: the last mail about it
        std::string text;
    };
    Result<std::vector<Alert>> alerts();
    // Records that `condition` holds now (`text` says what it is). With
    // `mail_every`: returns true when no mail about it went out in that
    // time, and marks it mailed now in the same statement, so that of
    // several instances exactly one mails. Without: only records it.
    Result<bool> raise_alert(const std::string& condition, const std::string& text,
                             std::int64_t now_ms, std::optional<std::int64_t> mail_every_ms);
    // The mail marked by raise_alert() could not be sent: due again.
    Result<void> unmark_alert_mail(const std::string& condition);
    // The condition no longer holds: removed. Returns it as it was.
    Result<std::optional<Alert>> clear_alert(const std::string& condition);

    // --- CA certificates -----------------------------------------------
    // PEM or DER; stored as PEM. Returns the certificate(s) imported.
    Result<std::vector<CaCert>> import_ca(const std::filesystem::path& file);
    Result<std::vector<CaCert>> ca_certs();
    Result<void> remove_ca(const std::string& id);
    // The PEM files to trust besides the system bundle.
    std::vector<std::filesystem::path> ca_files();

    Random& random() { return rng_; }
    const Clock& clock() const { return clock_; }

  private:
    Store(std::filesystem::path dir, Db db, SealKey key, Random& rng, const Clock& clock)
        : dir_(std::move(dir)), db_(std::move(db)), key_(key), rng_(rng), clock_(clock) {}
    Result<void> migrate();
    // Writes validated values inside the caller's transaction.
    Result<void> write_values(
        const std::vector<std::pair<settings::Key, std::optional<std::string>>>& checked);

    std::recursive_mutex mu_;  // one call at a time on db_ (set_values nests)
    std::filesystem::path dir_;
    Db db_;
    SealKey key_;
    Random& rng_;
    const Clock& clock_;
};

// Every migration of the state database, in order (store/migrations.cpp).
std::span<const Migration> migrations();

}  // namespace pb::store
