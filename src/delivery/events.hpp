// What the delivery engine tells whoever watches it: every claim of jobs
// and every attempt, with what it came to. The delivery log, the metrics and
// the tests are observers; none of them changes what the engine does.
//
// Called on the engine's threads, each after what it reports is committed:
// an observer is quick, safe to call from several threads at once, and does
// not call back into the engine.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "spool/job.hpp"
#include "spool/spool.hpp"

namespace pb::delivery {

class Observer {
  public:
    virtual ~Observer() = default;
    // Jobs of `profile` taken into `sending` for one connection; empty when
    // the engine looked and none was due.
    virtual void claimed(const std::string& /*profile*/, std::span<const spool::Job> /*jobs*/) {}
    // One attempt at `job` (as claimed: `attempts` counts this one) came to
    // `attempt`, now committed. spool::is_final(attempt.state): its outcome.
    virtual void attempted(const spool::Job& /*job*/, const spool::Attempt& /*attempt*/) {}
    // `read` bytes of `job`'s message (of `size`) have been handed to the
    // transport: on the delivering thread, as it reads, so keep it cheap.
    // Called only when an observer is given (EngineOptions::observer).
    virtual void progress(const spool::Job& /*job*/, std::uint64_t /*read*/,
                          std::uint64_t /*size*/) {}
};

}  // namespace pb::delivery
