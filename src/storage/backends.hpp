// Where the store and the queue come from: the one place that knows which
// backends exist. Everything above it (service/, cli/, web/) sees only the
// interfaces store::Store and spool::Spool (with its spool::BodyStore).
//
// Today there is one backend, the state directory's: a database file with
// the store's and the queue's rows, bodies as files beside it.
#pragma once

#include <filesystem>
#include <memory>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "spool/file_ops.hpp"
#include "spool/spool.hpp"
#include "store/store.hpp"

namespace pb::storage {

// Makes the state directory, the key and the database as needed, and
// brings the schema up to date.
Result<std::unique_ptr<store::Store>> open_store(const std::filesystem::path& state_dir,
                                                 Random& rng, const Clock& clock,
                                                 const store::Options& options = {});
// The queue of a state directory whose store was opened (open_store). Its
// bodies go through `ops`, which must outlive it.
Result<std::unique_ptr<spool::Spool>> open_spool(const std::filesystem::path& state_dir,
                                                 spool::FileOps& ops, const Clock& clock,
                                                 Random& rng);

}  // namespace pb::storage
