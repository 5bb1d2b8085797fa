// The state database's schema, as a list of migrations. Append only: a
// migration that has shipped is never edited, so every store upgrades the
// same way whatever version it starts from.
#include "store/store.hpp"

#include <array>

namespace pb::store {
namespace {

constexpr std::array kMigrations = {
    Migration{1, R"sql(
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- Secrets and tokens, sealed (AES-256-GCM, bound to `name`).
CREATE TABLE sealed (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    name       TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- Password hashes: the administrator, API tokens, relay device accounts.
CREATE TABLE credentials (
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
)sql"},
};

}  // namespace

std::span<const Migration> migrations() { return kMigrations; }

}  // namespace pb::store
