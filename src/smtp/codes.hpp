// From an SMTP reply to postbridge's job code (design.md's table).
//
// Decisions read the enhanced status first (5.7.139 and 5.7.3 are both 535,
// but one needs an administrator and the other a token), then the basic
// code and the step it answered. This only names what happened: whether a
// job is retried, failed or held is decided in delivery/, not here.
#pragma once

#include "core/error.hpp"
#include "smtp/reply.hpp"

namespace pb::smtp {

// The command a reply answered; the same 550 means a bad sender after MAIL
// and a bad recipient after RCPT.
enum class Step { greeting, ehlo, starttls, auth, mail, rcpt, data, data_end, rset };

Errc classify(const Reply& reply, Step step) noexcept;

}  // namespace pb::smtp
