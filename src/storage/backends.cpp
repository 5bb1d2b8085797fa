#include "storage/backends.hpp"

#include "sqlite/spool.hpp"
#include "sqlite/store.hpp"

namespace pb::storage {

Result<std::unique_ptr<store::Store>> open_store(const std::filesystem::path& state_dir,
                                                 Random& rng, const Clock& clock,
                                                 const store::Options& options) {
    auto s = sqlite::SqliteStore::open(state_dir, rng, clock, options);
    if (!s) return std::move(s).error();
    return std::unique_ptr<store::Store>(std::move(*s));
}

Result<std::unique_ptr<spool::Spool>> open_spool(const std::filesystem::path& state_dir,
                                                 spool::FileOps& ops, const Clock& clock,
                                                 Random& rng) {
    auto s = sqlite::SqliteSpool::open(state_dir, ops, clock, rng);
    if (!s) return std::move(s).error();
    return std::unique_ptr<spool::Spool>(std::move(*s));
}

}  // namespace pb::storage
