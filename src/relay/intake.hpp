// The relay's side of intake (intake/intake.hpp): a received message handed
// over, and the words of the reply to the final dot. No Asio here;
// server.cpp calls it on a worker thread, because making a job durable
// waits for fsync.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/source.hpp"
#include "intake/intake.hpp"
#include "relay/received.hpp"
#include "relay/session.hpp"

namespace pb::relay {

// The reply to a final dot whose message could not be accepted, for `e`.
std::string reply_for(const Error& e);

class Intake {
  public:
    Intake(intake::Intake& intake, std::function<void(std::string_view)> log);

    // Makes the message durable and returns the reply to the final dot:
    // 250 with the job number (also when the job is held for a sign-in:
    // nothing is lost), 452 when the disk is full and 451 when the spool
    // cannot take it now for another reason, 554 when the message itself is
    // unusable.
    // The message gets a Received: header (received.hpp) naming its job.
    std::string submit(const Envelope& envelope, const Arrival& arrival, ByteSource& message);

  private:
    intake::Intake& intake_;
    std::function<void(std::string_view)> log_;
};

}  // namespace pb::relay
