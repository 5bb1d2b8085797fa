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

Result<void> make_state_dir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return fail(Errc::spool_unwritable, fmt::format("cannot create the state directory {}: {}",
                                                        dir.string(), ec.message()));
    ::chmod(dir.c_str(),
            0700);  // best effort: a pre-existing shared dir stays as the admin made it
    return {};
}

Result<SealKey> resolve_key(const fs::path& dir, const Options& opts, Random& rng) {
    if (!opts.key_base64) return load_or_create_key(dir / "key", rng);
    auto key = SealKey::from_base64(*opts.key_base64);
    if (!key)
        return fail(
            Errc::invalid_input,
            "POSTBRIDGE_KEY must be 32 bytes in base64 (e.g. from: openssl rand -base64 32)");
    return *key;
}

Result<void> Store::check_key() {
    auto check = get_sealed(std::string(kKeyCheck));
    if (!check)
        return fail(Errc::invalid_input,
                    fmt::format("the key does not open the state in {}: the key file or "
                                "POSTBRIDGE_KEY is not the one this state was made with",
                                location()));
    if (!check->has_value()) return put_sealed(std::string(kKeyCheck), Secret("postbridge"));
    return {};
}

std::string Store::seal_value(const std::string& name, const Secret& value) {
    std::lock_guard lock(seal_mu_);
    return seal(key_, rng_, name, value);
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
    std::vector<SettingWrite> writes;
    for (const auto& [name, value] : changes) {
        auto key = settings::parse_key(name);
        if (!key) return std::move(key).error();
        const bool secret = key->def->type == settings::Type::secret;
        SettingWrite w{key->full(), std::nullopt, secret};
        if (value) {
            auto v = settings::normalize(*key, *value);
            if (!v) return std::move(v).error();
            // An empty value unsets the key, as nullopt does.
            if (!v->empty())
                w.value = secret ? seal_value("setting:" + w.key, Secret(*v)) : std::move(*v);
        }
        writes.push_back(std::move(w));
    }
    return write_settings(writes, replace);
}

bool Store::has_secret(const std::string& key) {
    auto v = read_sealed("setting:" + key);
    return v && v->has_value();
}

Result<void> Store::put_sealed(const std::string& name, const Secret& value) {
    return write_sealed(name, seal_value(name, value));
}

Result<std::optional<Secret>> Store::get_sealed(const std::string& name) {
    auto text = read_sealed(name);
    if (!text) return std::move(text).error();
    if (!*text) return std::optional<Secret>{};
    auto plain = unseal(key_, name, **text);
    if (!plain)
        return fail(Errc::invalid_input,
                    fmt::format("the stored secret '{}' in {} was altered or sealed under another "
                                "key: set it again (or sign in again for a token)",
                                name, location()));
    return std::optional<Secret>(std::move(*plain));
}

Result<void> Store::erase_sealed(const std::string& name) {
    return write_sealed(name, std::nullopt);
}

Result<void> Store::add_user(const std::string& name, const std::string& email) {
    if (!settings::valid_user_name(name))
        return fail(Errc::invalid_input,
                    fmt::format("'{}' is not a user name: use lowercase letters, digits, '.', '_' "
                                "and '-'",
                                name));
    auto key = settings::parse_key("user:" + name + ".sender");
    if (!key) return std::move(key).error();
    auto addr = settings::normalize(*key, email);
    if (!addr) return std::move(addr).error();
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
    return insert_user(User{name, *addr, now}, SettingWrite{key->full(), *addr, false});
}

Result<std::vector<CaCert>> Store::import_ca(const fs::path& file) {
    std::lock_guard lock(ca_mu_);
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
    std::lock_guard lock(ca_mu_);
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
    std::lock_guard lock(ca_mu_);
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "ca", ec))
        if (e.path().extension() == ".pem") out.push_back(e.path());
    std::ranges::sort(out);
    return out;
}

}  // namespace pb::store
