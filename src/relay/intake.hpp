// From a received message to a durable job: the sender policy, then the
// outbox (service/outbox.hpp), then the words of the reply to the final
// dot. No Asio here; server.cpp calls it on a worker thread, because
// making a job durable waits for fsync.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/source.hpp"
#include "relay/session.hpp"
#include "service/outbox.hpp"

namespace pb::relay {

class Intake {
  public:
    Intake(service::Outbox& outbox, const Clock& clock, Random& rng,
           std::function<void(std::string_view)> log);

    // Makes the message durable and returns the reply to the final dot:
    // 250 with the job number (also when the job is held for a sign-in:
    // nothing is lost), 451 when the spool cannot take it now, 554 when the
    // message itself is unusable.
    std::string submit(const Envelope& envelope, const std::string& client, ByteSource& message);

  private:
    service::Outbox& outbox_;
    const Clock& clock_;
    LockedRandom rng_;
    std::function<void(std::string_view)> log_;
};

}  // namespace pb::relay
