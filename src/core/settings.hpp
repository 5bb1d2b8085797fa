// The settings model: one typed schema (name, type, default, bounds, doc)
// for the global keys and the per-profile keys, the service presets, and
// validation. Names are a contract shared by the CLI, the web page and the
// JSON API (design.md "Profiles").
//
// A full key is either global ("web.listen") or a profile key behind its
// profile ("email.smtp.port", "fax.auth_method", "user:alice.sender").
// Only values that were set are stored; everything else is the schema's
// default, and a user profile inherits every server setting from `email`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace pb::settings {

enum class Type {
    string,
    boolean,
    integer,    // bounded by min/max
    port,       // 1..65535
    duration,   // "30s", "5m", "7d"; "0" where allowed
    size,       // "25M", "512K", bytes
    choice,     // one of `choices`
    address,    // an email address
    host,       // a host name or IP address
    url,        // http(s)://...
    host_port,  // ADDR:PORT
    cidr_list,  // comma-separated CIDR networks
    secret,     // stored sealed; never printed
};

enum class Scope { global, profile };

struct KeyDef {
    std::string_view name;
    Type type;
    Scope scope;
    std::string_view default_value;  // "" = unset
    std::string_view doc;
    std::string_view label = {};  // the manual's label on the web page
    std::span<const std::string_view> choices = {};
    std::int64_t min = 0;
    std::int64_t max = 0;
};

std::span<const KeyDef> schema();
const KeyDef* find_def(std::string_view name, Scope scope);
std::string_view type_name(Type t);

// A parsed full key.
struct Key {
    std::string profile;  // "" for a global key
    const KeyDef* def = nullptr;
    std::string full() const;
};

bool valid_profile_name(std::string_view profile);
bool valid_user_name(std::string_view name);
// "email.smtp.port" -> {email, smtp.port}; unknown keys -> 652 naming the key
// and where to find the list.
Result<Key> parse_key(std::string_view full);

// Checks one value against its key's type and bounds and returns it in
// canonical form ("STARTTLS" -> "starttls", "Yes" -> "true", "1h" -> "1h").
// The error names the key and what is allowed.
Result<std::string> normalize(const Key& key, std::string_view value);

// Parsed forms of canonical values.
std::optional<std::chrono::seconds> parse_duration(std::string_view v);
std::optional<std::uint64_t> parse_size(std::string_view v);
std::optional<bool> parse_bool(std::string_view v);
bool is_loopback_host(std::string_view host);

// A service preset: the server keys that choosing it fills.
struct Preset {
    std::string_view service;
    std::span<const std::pair<std::string_view, std::string_view>> values;
};
const Preset* find_preset(std::string_view service);

// The stored values (full key -> canonical value; secrets are not here, the
// store keeps them sealed) with schema defaults and inheritance on top.
class Settings {
  public:
    Settings() = default;
    explicit Settings(std::map<std::string, std::string> values) : values_(std::move(values)) {}

    // The effective value: set on the profile, else inherited (user:* from
    // email; proxy.url from the global proxy.url), else the default.
    std::string get(std::string_view profile, std::string_view name) const;
    std::string get_global(std::string_view name) const { return get("", name); }
    bool is_set(const std::string& full) const { return values_.contains(full); }
    // Where the effective value comes from: "set", "inherited", "default".
    std::string_view origin(std::string_view profile, std::string_view name) const;

    std::int64_t get_int(std::string_view profile, std::string_view name) const;
    bool get_bool(std::string_view profile, std::string_view name) const;
    std::chrono::seconds get_duration(std::string_view profile, std::string_view name) const;

    const std::map<std::string, std::string>& values() const { return values_; }
    std::map<std::string, std::string>& values() { return values_; }

    // Problems between keys of one profile that single-value validation
    // cannot see (a custom service without an issuer, OAuth2 without a
    // client id, ...), each a sentence saying what to set.
    std::vector<std::string> warnings(std::string_view profile) const;

  private:
    std::map<std::string, std::string> values_;
};

// The profiles that exist: email and fax always; user:NAME for registered
// users (passed in: the store knows them).
std::vector<std::string> profiles(std::span<const std::string> user_names);

}  // namespace pb::settings
