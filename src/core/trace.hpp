// A protocol core's state changes, for whoever wants to follow them (a
// debug log, a test): each core's one state setter tells `from` and `to`
// (its state names, e.g. "ehlo" -> "starttls"), as curl's connection
// setter logs under --verbose. The cores do no I/O; an empty trace is the
// default and costs one test per change.
#pragma once

#include <functional>
#include <string_view>

namespace pb {

using StateTrace = std::function<void(std::string_view from, std::string_view to)>;

}  // namespace pb
