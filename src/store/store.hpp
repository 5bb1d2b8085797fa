// The settings store: settings, sealed secrets and tokens, users,
// credentials and alerts in the backend's database; in the state directory
// the key that seals secrets and the imported CA certificates.
//
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

// The kinds of credentials (put_credential): API tokens with every right,
// and those that only read (status, jobs, metrics).
inline constexpr const char* kApiTokenKind = "api-token";
inline constexpr const char* kReadOnlyApiTokenKind = "api-token-read-only";

// The store as every backend has it (storage/backends.hpp opens one).
// Thread-safe: serve's delivery workers, the relay's sessions and the web
// thread may share one Store; each call runs alone (a transaction of
// another thread never interleaves with it).
//
// What is the same for every backend lives here: settings are checked and
// normalised, secrets sealed and opened, users' addresses checked, and the
// CA certificates kept as files in the state directory. A backend keeps
// the rows: the protected primitives below and the pure virtual calls.
class Store {
  public:
    virtual ~Store() = default;
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // The state directory: the key file, the CA certificates, lock files.
    const std::filesystem::path& dir() const { return dir_; }
    // Where the rows are, for messages ("/var/lib/postbridge/postbridge.db").
    virtual std::string location() const = 0;
    virtual int schema_version() = 0;

    // --- settings ------------------------------------------------------
    // The non-secret values that were set.
    virtual Result<settings::Settings> load_settings() = 0;
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
    // Registers `name` with its address, and sets user:NAME.sender to it in
    // the same transaction.
    Result<void> add_user(const std::string& name, const std::string& email);
    // Removes the user with its settings and its sign-in.
    virtual Result<void> remove_user(const std::string& name) = 0;
    virtual Result<std::vector<User>> users() = 0;

    // --- password-like credentials: admin, api tokens, relay devices ---
    // kind: "admin", "api-token", "relay-user". Only hashes are stored.
    virtual Result<void> put_credential(const std::string& kind, const std::string& name,
                                        const std::string& hash) = 0;
    virtual Result<std::optional<std::string>> credential(const std::string& kind,
                                                          const std::string& name) = 0;
    virtual Result<std::vector<std::pair<std::string, std::int64_t>>> credentials(
        const std::string& kind) = 0;
    virtual Result<bool> remove_credential(const std::string& kind, const std::string& name) = 0;

    // --- the administrator's alerts (notify.email) ----------------------
    // A condition that needs the administrator ("signin-lapse:email"): kept
    // in the store so that a mail about it goes at most once a period,
    // across restarts and instances.
    struct Alert {
        std::string condition;
        std::int64_t raised_at = 0;             // unix ms
        std::optional<std::int64_t> mailed_at;  // unix ms: the last mail about it
        std::string text;
    };
    virtual Result<std::vector<Alert>> alerts() = 0;
    // Records that `condition` holds now (`text` says what it is). With
    // `mail_every`: returns true when no mail about it went out in that
    // time, and marks it mailed now in the same statement, so that of
    // several instances exactly one mails. Without: only records it.
    virtual Result<bool> raise_alert(const std::string& condition, const std::string& text,
                                     std::int64_t now_ms,
                                     std::optional<std::int64_t> mail_every_ms) = 0;
    // The mail marked by raise_alert() could not be sent: due again.
    virtual Result<void> unmark_alert_mail(const std::string& condition) = 0;
    // The condition no longer holds: removed. Returns it as it was.
    virtual Result<std::optional<Alert>> clear_alert(const std::string& condition) = 0;

    // --- named locks ---------------------------------------------------
    // Held by one caller at a time across every process (and instance) on
    // this store; released when the Lock is destroyed or its holder dies.
    // A profile's token refresh takes "oauth-PROFILE".
    class Lock {
      public:
        virtual ~Lock() = default;
    };
    virtual Result<std::unique_ptr<Lock>> lock(std::string_view name) = 0;

    // --- CA certificates -----------------------------------------------
    // PEM or DER; stored as PEM. Returns the certificate(s) imported.
    Result<std::vector<CaCert>> import_ca(const std::filesystem::path& file);
    Result<std::vector<CaCert>> ca_certs();
    Result<void> remove_ca(const std::string& id);
    // The PEM files to trust besides the system bundle.
    std::vector<std::filesystem::path> ca_files();

    Random& random() { return rng_; }
    const Clock& clock() const { return clock_; }

  protected:
    Store(std::filesystem::path dir, SealKey key, Random& rng, const Clock& clock)
        : dir_(std::move(dir)), key_(key), rng_(rng), clock_(clock) {}
    // The backend's last step of opening: a value sealed at first start
    // tells a wrong key from tampering.
    Result<void> check_key();

    // One setting to write: `value` is the text of a plain setting, or the
    // sealed text of a secret one (stored by the name "setting:KEY" with
    // the other sealed values); nullopt or empty removes it.
    struct SettingWrite {
        std::string key;  // "email.host"
        std::optional<std::string> value;
        bool secret = false;
    };
    // All in one transaction. With `replace`, every setting (plain and
    // secret) not written here is removed in it too.
    virtual Result<void> write_settings(const std::vector<SettingWrite>& writes, bool replace) = 0;
    // The sealed text stored under `name`, nullopt when none.
    virtual Result<std::optional<std::string>> read_sealed(const std::string& name) = 0;
    // Stores (or with nullopt removes) the sealed text under `name`.
    virtual Result<void> write_sealed(const std::string& name,
                                      const std::optional<std::string>& sealed) = 0;
    // Adds the user and writes `sender` (user:NAME.sender, already
    // normalised) in one transaction; 652 naming the user when one of
    // that name exists.
    virtual Result<void> insert_user(const User& user, const SettingWrite& sender) = 0;

  private:
    // The sealed text of `value` under `name` (the generator is not
    // thread-safe: sealing takes seal_mu_).
    std::string seal_value(const std::string& name, const Secret& value);

    std::filesystem::path dir_;
    SealKey key_;
    Random& rng_;
    std::mutex seal_mu_;  // rng_
    std::mutex ca_mu_;    // the files in dir_/ca
    const Clock& clock_;
};

// The seal key: POSTBRIDGE_KEY when given, else STATE/key (made at first
// start, 0600; two processes starting at once end up with the same one).
Result<SealKey> resolve_key(const std::filesystem::path& dir, const Options& opts, Random& rng);
// Makes the state directory (0700) when it does not exist.
Result<void> make_state_dir(const std::filesystem::path& dir);

}  // namespace pb::store
