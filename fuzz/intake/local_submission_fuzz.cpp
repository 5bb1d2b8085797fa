// The local submission's request line on arbitrary bytes: any local user can
// write to the socket, so the line is untrusted input. Decoding must never
// crash; a line it accepts is written again and reads back the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "intake/local_submission.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace pb::intake::local;
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    auto r = decode_request(line);
    if (r) {
        auto again = decode_request(encode(*r));
        if (!again || again->from != r->from || again->full_name != r->full_name ||
            again->recipients != r->recipients ||
            again->recipients_from_headers != r->recipients_from_headers)
            std::abort();
    }
    (void)decode_reply(line);
    return 0;
}
