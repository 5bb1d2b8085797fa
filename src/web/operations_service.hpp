// Operations (operations.hpp) over the product's service layer: serve's
// outbox for jobs and sending, a Runtime of the caller's own for the
// connection test.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "observe/metrics.hpp"
#include "service/outbox.hpp"
#include "store/store.hpp"
#include "web/operations.hpp"

namespace pb::web {

// Over serve's outbox. `store` is the calling thread's own connection (the
// web thread's): the connection test makes its Runtime on it, as
// `postbridge test-connection` does, so a slow test never holds the
// outbox's lock that delivery needs.
// `metrics`: serve's counters (null: /metrics has only the gauges);
// `listeners`: what is wrong with serve's listeners now, "" when nothing.
struct OperationsOptions {
    observe::Metrics* metrics = nullptr;
    std::function<std::string()> listeners = [] { return std::string{}; };
};
std::unique_ptr<Operations> make_operations(store::Store& store, service::Outbox& outbox,
                                            const Clock& clock, Random& rng,
                                            OperationsOptions options = {});

}  // namespace pb::web
