#include "store/store.hpp"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "core/fs.hpp"

namespace pb::store {
namespace {

namespace fs = std::filesystem;
constexpr std::string_view kKeyCheck = "key-check";

Error local_error(const fs::path& p, std::string_view what, int err) {
    return fail(Errc::spool_unwritable,
                fmt::format("{} {}: {}", what, p.string(), std::strerror(err)));
}

// Reads the key file, or makes it. Two processes starting at once must end
// up with the same key: the new key is linked into place, which fails if
// another process got there first, and then that one's key is used.
Result<SealKey> load_or_create_key(const fs::path& file, Random& rng) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        struct stat st {};
        if (::stat(file.c_str(), &st) == 0) {
            if ((st.st_mode & 077) != 0)
                return fail(Errc::invalid_input,
                            fmt::format("{} is readable by others (mode {:o}): run chmod 600 {}",
                                        file.string(), st.st_mode & 0777, file.string()));
            auto raw = read_file(file);
            if (!raw) return std::move(raw).error();
            auto key = SealKey::from_bytes(*raw);
            if (!key)
                return fail(Errc::invalid_input,
                            fmt::format("{} is not a postbridge key (32 bytes expected, found {}): "
                                        "restore it from a backup",
                                        file.string(), raw->size()));
            return *key;
        }
        if (errno != ENOENT) return local_error(file, "cannot read", errno);
        const SealKey key = SealKey::generate(rng);
        const fs::path tmp = file.string() + ".new-" + random_hex(rng, 8);
        if (auto r = write_file_atomic(tmp, key.raw(), 0600); !r) return std::move(r).error();
        const int rc = ::link(tmp.c_str(), file.c_str());
        const int err = errno;
        ::unlink(tmp.c_str());
        if (rc == 0) {
            if (auto r = fsync_directory(file.parent_path()); !r) return std::move(r).error();
            return key;
        }
        if (err != EEXIST) return local_error(file, "cannot create", err);
    }
    return fail(Errc::spool_unwritable, "cannot create the key file " + file.string());
}

std::string name_text(X509_NAME* name) {
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
}

std::string time_text(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::vector<X509Ptr> parse_certs(std::string_view data) {
    std::vector<X509Ptr> out;
    BIO* bio = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr))
        out.emplace_back(x, X509_free);
    BIO_free(bio);
    if (out.empty()) {
        const auto* p = reinterpret_cast<const unsigned char*>(data.data());
        if (X509* x = d2i_X509(nullptr, &p, static_cast<long>(data.size())))
            out.emplace_back(x, X509_free);
    }
    return out;
}

CaCert describe(X509* x, const fs::path& file, std::string id) {
    return CaCert{std::move(id),
                  name_text(X509_get_subject_name(x)),
                  name_text(X509_get_issuer_name(x)),
                  time_text(X509_get0_notBefore(x)),
                  time_text(X509_get0_notAfter(x)),
                  file};
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const fs::path& dir, Random& rng, const Clock& clock,
                                           const Options& opts) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return fail(Errc::spool_unwritable, fmt::format("cannot create the state directory {}: {}",
                                                        dir.string(), ec.message()));
    ::chmod(dir.c_str(),
            0700);  // best effort: a pre-existing shared dir stays as the admin made it

    std::optional<SealKey> key;
    if (opts.key_base64) {
        key = SealKey::from_base64(*opts.key_base64);
        if (!key)
            return fail(
                Errc::invalid_input,
                "POSTBRIDGE_KEY must be 32 bytes in base64 (e.g. from: openssl rand -base64 32)");
    } else {
        auto k = load_or_create_key(dir / "key", rng);
        if (!k) return std::move(k).error();
        key = *k;
    }

    // Made 0600 before SQLite first sees it; its -wal and -shm files follow
    // suit. Only when it does not exist yet: closing any descriptor of the
    // file drops every POSIX lock this process holds on it, SQLite's
    // included, and another process would then check the WAL away under a
    // connection that is still open here.
    const fs::path db_file = dir / "postbridge.db";
    if (struct stat st{}; ::stat(db_file.c_str(), &st) != 0) {
        if (const int fd = ::open(db_file.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
            fd >= 0)
            ::close(fd);
    }
    auto db = Db::open(db_file);
    if (!db) return std::move(db).error();
    std::unique_ptr<Store> s(new Store(dir, std::move(*db), *key, rng, clock));
    if (auto r = s->migrate(); !r) return std::move(r).error();

    // A known value sealed at first start tells a wrong key from tampering.
    auto check = s->get_sealed(std::string(kKeyCheck));
    if (!check)
        return fail(Errc::invalid_input,
                    fmt::format("the key does not open the state in {}: the key file or "
                                "POSTBRIDGE_KEY is not the one this state was made with",
                                dir.string()));
    if (!check->has_value()) {
        if (auto r = s->put_sealed(std::string(kKeyCheck), Secret("postbridge")); !r)
            return std::move(r).error();
    }
    return s;
}

int Store::schema_version() {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("PRAGMA user_version");
    if (!st || !st->step().ok()) return -1;
    return static_cast<int>(st->integer(0));
}

Result<void> Store::migrate() {
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

Result<settings::Settings> Store::load_settings() {
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

Result<Store::CheckedChanges> Store::check_changes(const Changes& wanted) {
    auto registered = users();
    if (!registered) return std::move(registered).error();
    CheckedChanges out;
    for (const auto& [name, wanted_value] : wanted) {
        auto key = settings::parse_key(name);
        if (!key) {
            out.problems.push_back(key.error().detail);
            continue;
        }
        if (key->profile.starts_with("user:")) {
            const std::string user = key->profile.substr(5);
            if (std::none_of(registered->begin(), registered->end(),
                             [&](const User& u) { return u.name == user; })) {
                out.problems.push_back(fmt::format(
                    "{}: no user '{}' is registered (postbridge users add {} --email ADDRESS)",
                    key->full(), user, user));
                continue;
            }
        }
        std::optional<std::string> value = wanted_value;
        if (value) {
            auto v = settings::normalize(*key, *value);
            if (!v) {
                out.problems.push_back(v.error().detail);
                continue;
            }
            value = std::move(*v);
        }
        out.changes.emplace_back(key->full(), value);
        // Choosing a service fills the server fields, as the Basic page does.
        if (value && key->def->name == "service")
            if (const settings::Preset* preset = settings::find_preset(*value))
                for (const auto& [k, v] : preset->values)
                    out.changes.emplace_back(
                        key->profile + "." + std::string(k),
                        v.empty() ? std::nullopt : std::optional<std::string>(v));
    }
    return out;
}

Result<std::vector<Store::Changed>> Store::apply_changes(const Changes& checked, bool replace) {
    auto before = load_settings();
    if (!before) return std::move(before).error();
    if (auto r = set_values(checked, replace); !r) return std::move(r).error();
    auto after = load_settings();
    if (!after) return std::move(after).error();
    std::vector<Changed> out;
    for (const auto& [name, value] : checked) {
        auto key = settings::parse_key(name);
        if (!key) continue;
        Changed c{name, "", "(set)", key->def->type == settings::Type::secret};
        if (!c.secret) {
            c.old_value = before->get(key->profile, key->def->name);
            c.new_value = after->get(key->profile, key->def->name);
            if (c.old_value == c.new_value) continue;
        }
        out.push_back(std::move(c));
    }
    return out;
}

Result<void> Store::set_values(
    const std::vector<std::pair<std::string, std::optional<std::string>>>& changes, bool replace) {
    std::lock_guard lock(mu_);
    std::vector<std::pair<settings::Key, std::optional<std::string>>> checked;
    for (const auto& [name, value] : changes) {
        auto key = settings::parse_key(name);
        if (!key) return std::move(key).error();
        if (!value) {
            checked.emplace_back(*key, std::nullopt);
            continue;
        }
        auto v = settings::normalize(*key, *value);
        if (!v) return std::move(v).error();
        checked.emplace_back(*key, std::move(*v));
    }
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r;
    if (replace) {
        if (auto r =
                db_.exec("DELETE FROM settings; DELETE FROM sealed WHERE name LIKE 'setting:%';");
            !r)
            return r;
    }
    if (auto r = write_values(checked); !r) return r;
    return tx.commit();
}

Result<void> Store::write_values(
    const std::vector<std::pair<settings::Key, std::optional<std::string>>>& checked) {
    auto upsert = db_.prepare(
        "INSERT INTO settings(key, value) VALUES(?1, ?2) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    auto erase = db_.prepare("DELETE FROM settings WHERE key = ?1");
    if (!upsert) return std::move(upsert).error();
    if (!erase) return std::move(erase).error();
    for (const auto& [key, value] : checked) {
        const std::string full = key.full();
        const bool secret = key.def->type == settings::Type::secret;
        if (!value || value->empty()) {
            if (secret) {
                if (auto r = erase_sealed("setting:" + full); !r) return r;
            } else if (auto r = erase->bind(1, full).run(); !r) {
                return r;
            }
            continue;
        }
        if (secret) {
            if (auto r = put_sealed("setting:" + full, Secret(*value)); !r) return r;
        } else if (auto r = upsert->bind(1, full).bind(2, *value).run(); !r) {
            return r;
        }
    }
    return {};
}

bool Store::has_secret(const std::string& name) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT 1 FROM sealed WHERE name = ?1");
    if (!st) return false;
    st->bind(1, "setting:" + name);
    auto row = st->step();
    return row && *row;
}

Result<void> Store::put_sealed(const std::string& name, const Secret& value) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "INSERT INTO sealed(name, value) VALUES(?1, ?2) "
        "ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    if (!st) return std::move(st).error();
    return st->bind(1, name).bind(2, seal(key_, rng_, name, value)).run();
}

Result<std::optional<Secret>> Store::get_sealed(const std::string& name) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("SELECT value FROM sealed WHERE name = ?1");
    if (!st) return std::move(st).error();
    st->bind(1, name);
    auto row = st->step();
    if (!row) return std::move(row).error();
    if (!*row) return std::optional<Secret>{};
    auto plain = unseal(key_, name, st->text(0));
    if (!plain)
        return fail(Errc::invalid_input,
                    fmt::format("the stored secret '{}' in {} was altered or sealed under another "
                                "key: set it again (or sign in again for a token)",
                                name, db_.path().string()));
    return std::optional<Secret>(std::move(*plain));
}

Result<void> Store::erase_sealed(const std::string& name) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("DELETE FROM sealed WHERE name = ?1");
    if (!st) return std::move(st).error();
    return st->bind(1, name).run();
}

Result<void> Store::add_user(const std::string& name, const std::string& email) {
    std::lock_guard lock(mu_);
    if (!settings::valid_user_name(name))
        return fail(Errc::invalid_input,
                    fmt::format("'{}' is not a user name: use lowercase letters, digits, '.', '_' "
                                "and '-'",
                                name));
    auto key = settings::parse_key("user:" + name + ".sender");
    if (!key) return std::move(key).error();
    auto addr = settings::normalize(*key, email);
    if (!addr) return std::move(addr).error();
    Transaction tx(db_);
    if (auto r = tx.begin(); !r) return r;
    auto st = db_.prepare("INSERT INTO users(name, email, created_at) VALUES(?1, ?2, ?3)");
    if (!st) return std::move(st).error();
    auto r =
        st->bind(1, name)
            .bind(2, *addr)
            .bind(3,
                  std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch())
                      .count())
            .run();
    if (!r) {
        auto exists = db_.prepare("SELECT 1 FROM users WHERE name = ?1");
        auto found = exists ? exists->bind(1, name).step() : Result<bool>(false);
        if (found && *found)
            return fail(Errc::invalid_input, fmt::format("user '{}' is already registered", name));
        return r;
    }
    if (auto s = write_values({{*key, *addr}}); !s) return s;
    return tx.commit();
}

Result<void> Store::remove_user(const std::string& name) {
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

Result<std::vector<User>> Store::users() {
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

Result<void> Store::put_credential(const std::string& kind, const std::string& name,
                                   const std::string& hash) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare(
        "INSERT INTO credentials(kind, name, hash, created_at) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(kind, name) DO UPDATE SET hash = excluded.hash");
    if (!st) return std::move(st).error();
    return st->bind(1, kind)
        .bind(2, name)
        .bind(3, hash)
        .bind(4, std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch())
                     .count())
        .run();
}

Result<std::optional<std::string>> Store::credential(const std::string& kind,
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

Result<std::vector<std::pair<std::string, std::int64_t>>> Store::credentials(
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

Result<bool> Store::remove_credential(const std::string& kind, const std::string& name) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("DELETE FROM credentials WHERE kind = ?1 AND name = ?2");
    if (!st) return std::move(st).error();
    if (auto r = st->bind(1, kind).bind(2, name).run(); !r) return std::move(r).error();
    return db_.changes() > 0;
}

namespace {

// A row of `SELECT condition, raised_at, mailed_at, text FROM alerts`.
Store::Alert alert_row(const Stmt& st) {
    Store::Alert a{st.text(0), st.integer(1), std::nullopt, st.text(3)};
    if (!st.is_null(2)) a.mailed_at = st.integer(2);
    return a;
}

}  // namespace

Result<std::vector<Store::Alert>> Store::alerts() {
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

Result<bool> Store::raise_alert(const std::string& condition, const std::string& text,
                                std::int64_t now_ms, std::optional<std::int64_t> mail_every_ms) {
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

Result<void> Store::unmark_alert_mail(const std::string& condition) {
    std::lock_guard lock(mu_);
    auto st = db_.prepare("UPDATE alerts SET mailed_at = NULL WHERE condition = ?1");
    if (!st) return std::move(st).error();
    return st->bind(1, condition).run();
}

Result<std::optional<Store::Alert>> Store::clear_alert(const std::string& condition) {
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

Result<std::vector<CaCert>> Store::import_ca(const fs::path& file) {
    std::lock_guard lock(mu_);
    auto data = read_file(file);
    if (!data) return std::move(data).error();
    auto certs = parse_certs(*data);
    if (certs.empty())
        return fail(Errc::invalid_input,
                    fmt::format("{} holds no certificate (PEM or DER expected)", file.string()));
    const fs::path dir = dir_ / "ca";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return local_error(dir, "cannot create", ec.value());
    std::vector<CaCert> out;
    for (auto& c : certs) {
        unsigned char* der = nullptr;
        const int n = i2d_X509(c.get(), &der);
        if (n <= 0)
            return fail(Errc::invalid_input, "cannot encode a certificate of " + file.string());
        const std::string id =
            sha256_hex(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)))
                .substr(0, 16);
        OPENSSL_free(der);
        BIO* bio = BIO_new(BIO_s_mem());
        PEM_write_bio_X509(bio, c.get());
        char* pem = nullptr;
        const long len = BIO_get_mem_data(bio, &pem);
        const fs::path target = dir / (id + ".pem");
        auto w =
            write_file_atomic(target, std::string_view(pem, static_cast<std::size_t>(len)), 0644);
        BIO_free(bio);
        if (!w) return std::move(w).error();
        out.push_back(describe(c.get(), target, id));
    }
    return out;
}

Result<std::vector<CaCert>> Store::ca_certs() {
    std::lock_guard lock(mu_);
    std::vector<CaCert> out;
    for (const auto& f : ca_files()) {
        auto data = read_file(f);
        if (!data) continue;
        auto certs = parse_certs(*data);
        if (certs.empty()) continue;
        out.push_back(describe(certs.front().get(), f, f.stem().string()));
    }
    return out;
}

Result<void> Store::remove_ca(const std::string& id) {
    std::lock_guard lock(mu_);
    const bool plain = !id.empty() && std::ranges::all_of(id, [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    });
    const fs::path f = dir_ / "ca" / (id + ".pem");
    std::error_code ec;
    if (!plain || !fs::remove(f, ec))
        return fail(Errc::invalid_input,
                    fmt::format("no CA certificate '{}' ('postbridge ca list' shows the ids)", id));
    return fsync_directory(f.parent_path());
}

std::vector<fs::path> Store::ca_files() {
    std::lock_guard lock(mu_);
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "ca", ec))
        if (e.path().extension() == ".pem") out.push_back(e.path());
    std::ranges::sort(out);
    return out;
}

}  // namespace pb::store
