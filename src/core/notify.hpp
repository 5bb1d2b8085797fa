// The service manager's notification protocol (sd_notify(3)), spoken
// directly: one datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
// $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name. Written
// here rather than linked from libsystemd: a few lines of socket code, no
// library that the package and every build need, and tests can hold the
// socket themselves.
//
// Without NOTIFY_SOCKET (not started by systemd, or Type= is not notify)
// every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace pb::notify {

class Notifier {
  public:
    // From NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
    static Notifier from_environment();
    Notifier() = default;  // says nothing
    Notifier(std::string socket, std::optional<std::chrono::microseconds> watchdog);

    bool enabled() const { return !socket_.empty(); }
    // Sends `state` ("READY=1\nSTATUS=..."), one datagram.
    Result<void> send(std::string_view state) const;

    // Half of WATCHDOG_USEC when the watchdog is on for this process: how
    // often WATCHDOG=1 must go out.
    std::optional<std::chrono::microseconds> watchdog_interval() const;

  private:
    std::string socket_;
    std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace pb::notify
