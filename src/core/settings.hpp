// The settings model: one typed schema (name, type, default, bounds, doc,
// label and the config member it fills) for the global keys and the
// per-profile keys, the service presets, validation, and the typed
// GlobalConfig / ProfileConfig (core/config.hpp) made from them. Names are a contract shared by the
// CLI, the web page and the JSON API (design.md "Profiles").
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

#include "core/config.hpp"
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

struct KeyDef;
// Parses a key's canonical value into its member of a GlobalConfig or a
// ProfileConfig (`config` is the one `scope` says).
using Fill = void (*)(void* config, const KeyDef& def, std::string_view value);

// Where a key's value goes: its scope and the member it fills (none for a
// secret, which the store keeps sealed).
struct Target {
    Scope scope;
    Fill fill = nullptr;
};

struct KeyDef {
    std::string_view name;
    Type type;
    Target target;
    std::string_view default_value;  // "" = unset
    std::string_view doc;
    std::string_view label = {};  // the manual's label on the web page
    std::span<const std::string_view> choices = {};
    std::int64_t min = 0;
    std::int64_t max = 0;

    Scope scope() const noexcept { return target.scope; }
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

    // The effective value, canonical text: set on the profile, else
    // inherited (user:* from email; proxy.url from the global proxy.url),
    // else the preset's or the default. For code that handles keys as data
    // (config show, the JSON API, the settings pages); everything else
    // reads the typed configs below.
    std::string get(std::string_view profile, std::string_view name) const;
    std::string get_global(std::string_view name) const { return get("", name); }
    bool is_set(const std::string& full) const { return values_.contains(full); }
    // Where the effective value comes from: "set", "inherited", "default".
    std::string_view origin(std::string_view profile, std::string_view name) const;

    const std::map<std::string, std::string>& values() const { return values_; }
    std::map<std::string, std::string>& values() { return values_; }

    // The typed forms: every key of the profile (or every global key) parsed
    // into its member.
    ProfileConfig profile_config(std::string_view profile) const;
    GlobalConfig global_config() const;

    // Problems between keys of one profile that single-value validation
    // cannot see (a custom service without an issuer, OAuth2 without a
    // client id, ...), each a sentence saying what to set.
    std::vector<std::string> warnings(std::string_view profile) const;

  private:
    std::map<std::string, std::string> values_;
};

// A snapshot of the settings, parsed once: the typed configs beside the
// stored values they came from (the pages and `config show` print those).
// Immutable, so threads share it freely.
class Config {
  public:
    Config() : Config(Settings{}) {}
    explicit Config(Settings s);

    const Settings& settings() const noexcept { return settings_; }
    const GlobalConfig& global() const noexcept { return global_; }
    // Any valid profile name; a user profile with nothing of its own set is
    // `email`'s with the user's own keys at their defaults.
    const ProfileConfig& profile(std::string_view name) const;

  private:
    Settings settings_;
    GlobalConfig global_;
    std::map<std::string, ProfileConfig, std::less<>> profiles_;
    ProfileConfig plain_user_;
};

// The profiles that exist: email and fax always; user:NAME for registered
// users (passed in: the store knows them).
std::vector<std::string> profiles(std::span<const std::string> user_names);

}  // namespace pb::settings
