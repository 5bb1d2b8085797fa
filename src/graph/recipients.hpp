// Who Graph sends a MIME message to. sendMail and a draft made from MIME
// take their recipients from the message's To, Cc and Bcc headers, not from
// an envelope. postbridge's envelope (RCPT TO of the relay, --bcc, the
// recipients still pending on a retry) is what must receive the message, so
// the header block Graph gets is adjusted, the body left as it is:
// - an envelope recipient in no To or Cc field is added in a Bcc field
//   (Graph sends to it and leaves the field out of what recipients get);
// - an address of a To or Cc field that is not in the envelope (one already
//   delivered on an earlier attempt, or a relayed message's list address)
//   is taken out of the field, so that nobody outside the envelope gets it;
// - Bcc fields already there are replaced by ours.
// A header block that needs none of this is passed on byte for byte.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace pb::graph {

struct RecipientPlan {
    std::string header;                // the header block to send, blank line included
    std::vector<std::string> bcc;      // envelope recipients added as Bcc
    std::vector<std::string> dropped;  // To/Cc addresses left out (not in the envelope)
    bool changed = false;              // header differs from the original
};

// `header_block`: the message's header up to and including the empty line
// that ends it (CRLF or LF line ends). `envelope`: the addresses the message
// must go to now. A To or Cc field that cannot be parsed is 652.
Result<RecipientPlan> plan_recipients(std::string_view header_block,
                                      std::span<const std::string> envelope);

// Where the header block ends in `data` (the offset just after the empty
// line), or npos when `data` holds no empty line yet.
std::size_t header_end(std::string_view data) noexcept;

}  // namespace pb::graph
