// Messages that arrive already formed, on sendmail's standard input: made
// fit to send the way sendmail and Postfix's cleanup do it. Line ends become
// CRLF, Bcc is removed, and From, Date and Message-ID are added when the
// message lacks them. Optionally From is rewritten to the profile's sender
// (the relay's and sendmail's sender_policy=rewrite). The header section is read and parsed (at
// most 1 MiB); the body streams through, never held whole.
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
    std::string subject;                  // as written (encoded words left encoded)
    bool added_from = false;
    // rewrite_from: the From the message had, when it was replaced
    std::optional<std::string> original_from;
};

struct PreformedOptions {
    // Services such as Exchange Online refuse to send as anyone but the
    // signed-in mailbox. With this, a From of another address becomes
    // `default_from` (keeping the original display name, so people still
    // see which device sent it) and the original From goes to Reply-To, so
    // that replies reach it, unless the message already has a Reply-To. A
    // From that does not parse is replaced and not kept.
    bool rewrite_from = false;
    // sendmail -t needs To, Cc and Bcc parsed, so a malformed one is an
    // error. A relay passes on what a device wrote: false keeps them as
    // they are (Bcc is still removed) and leaves the lists empty.
    bool parse_recipients = true;
};

// Reads `input` up to the end of its header section. `default_from` is the
// profile's sender (with sendmail -F's display name). A malformed address
// header is 652 naming the field.
Result<Preformed> wrap_preformed(std::unique_ptr<ByteSource> input, const Mailbox& default_from,
                                 const Clock& clock, Random& random,
                                 const PreformedOptions& options = {});

}  // namespace pb::mime
