// Operations (operations.hpp) over the product's service layer: serve's
// outbox for jobs and sending, a Runtime of the caller's own for the
// connection test.
#pragma once

#include <memory>

#include "core/clock.hpp"
#include "service/outbox.hpp"
#include "store/store.hpp"
#include "web/operations.hpp"

namespace pb::web {

// Over serve's outbox. `store` is the calling thread's own connection (the
// web thread's): the connection test makes its Runtime on it, as
// `postbridge test-connection` does, so a slow test never holds the
// outbox's lock that delivery needs.
std::unique_ptr<Operations> make_operations(store::Store& store, service::Outbox& outbox,
                                            const Clock& clock, Random& rng);

}  // namespace pb::web
