// Messages that arrive already formed, on sendmail's standard input: made
// fit to send the way sendmail and Postfix's cleanup do it. Line ends become
// CRLF, Bcc is removed, and From, Date and Message-ID are added when the
// message lacks them. The header section is read and parsed (at most
// 1 MiB); the body streams through, never held whole.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/source.hpp"
#include "mime/address.hpp"

namespace pb::mime {

struct Preformed {
    std::unique_ptr<ByteSource> message;  // the fixed-up message (no size_hint: stdin has none)
    Mailbox from;                         // the From header's first mailbox, or the one added
    std::vector<Mailbox> to, cc, bcc;     // from the headers, for sendmail -t
    std::string message_id;               // as in the message, or the one added
    bool added_from = false;
};

// Reads `input` up to the end of its header section. `default_from` is the
// profile's sender (with sendmail -F's display name). A malformed address
// header is 652 naming the field.
Result<Preformed> wrap_preformed(std::unique_ptr<ByteSource> input, const Mailbox& default_from,
                                 const Clock& clock, Random& random);

}  // namespace pb::mime
