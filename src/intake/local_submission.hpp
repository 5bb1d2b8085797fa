// Local submission: how a local program that cannot open postbridge's state
// (cron, CUPS, PHP, a monitoring script: any user but root and the
// service's) hands a message to the running service, over a Unix socket.
// Postfix's postdrop is the model: the service learns who the caller is from
// the kernel (SO_PEERCRED), never from what the caller says, and spools the
// message as its own user.
//
// On the socket, one exchange per connection:
//   caller:  one line of JSON (Request), then the message's bytes, then a
//            shutdown of its sending side (end of the message);
//   service: one line of JSON (Reply).
// This file is the format only, without I/O: the service's side is
// cli/serve_submit.cpp, the caller's is `sendmail` (cli/jobs.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace pb::intake::local {

// The socket both sides use: POSTBRIDGE_SUBMIT_SOCKET when set, else this
// (a contract; `serve --submit-socket PATH` names another for serve).
inline constexpr std::string_view kDefaultSocket = "/run/postbridge/submit.sock";
std::string socket_path();

// The request line is at most this long; the message after it is bounded
// by relay.max_message_size, as a relayed one is.
inline constexpr std::size_t kMaxRequestLine = 64 * 1024;

// What `sendmail` was asked, as it would pass it to intake itself; or, with
// kind queue, `mailq`: no message follows, and the answer's text is the
// queue as the caller may see it.
struct Request {
    enum class Kind { send, queue };
    Kind kind = Kind::send;
    std::string from;       // -f / -r: taken from root and the service's user only
    std::string full_name;  // -F
    std::vector<std::string> recipients;
    bool recipients_from_headers = false;  // -t
    std::string dsn_notify = {};           // -N
    std::string dsn_ret = {};              // -R
};

struct Reply {
    int exit_status = 0;    // what the caller exits with
    std::int64_t job = 0;   // accepted: its number
    bool held = false;      // accepted into held (the profile is not signed in)
    std::string message;    // refused: why, in words for the caller's stderr
    std::string text = {};  // kind queue: what mailq prints
};

// One line each, with its "\n".
std::string encode(const Request& r);
std::string encode(const Reply& r);
// 652 naming what is wrong with a line that is not one.
Result<Request> decode_request(std::string_view line);
Result<Reply> decode_reply(std::string_view line);

}  // namespace pb::intake::local
