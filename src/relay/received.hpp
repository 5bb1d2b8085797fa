// The Received: header the relay puts on every message it accepts (RFC 5321
// 4.4: a relay MUST add one), in the form Postfix writes, so that the tools
// that read such headers (spam filters, message trace) find what they
// expect:
//
//   Received: from HELO (unknown [ADDRESS])
//           (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
//           (Authenticated sender: DEVICE-ACCOUNT)
//           by HOSTNAME (postbridge) with ESMTPSA id JOB
//           for <RECIPIENT>; DATE
//
// "unknown": the relay looks up no names (no DNS on a device's path). The
// TLS and Authenticated lines appear only when they apply; "for" only with
// a single recipient, so that the header does not list Bcc recipients to
// each other. The protocol is RFC 3848's: ESMTP, ESMTPS, ESMTPA, ESMTPSA,
// or SMTP after HELO. The job number is not known until the message is in
// the spool: the spool puts it between the two halves returned here.
//
// Pure: no I/O, no clock.
#pragma once

#include <optional>
#include <string>

#include "core/clock.hpp"
#include "relay/session.hpp"
#include "spool/format.hpp"

namespace pb::relay {

// The connection a message came over, as the listener knows it.
struct Arrival {
    std::string client;              // the client's address: "192.0.2.7", "2001:db8::7"
    std::optional<std::string> tls;  // "TLSv1.3 with cipher ... (256/256 bits)"; none: plain
    std::string hostname;            // the relay's own name
};

spool::Trace received_header(const Envelope& envelope, const Arrival& arrival, TimePoint when);

}  // namespace pb::relay
