// The reply -> code table. Microsoft's and Google's statuses come from
// spec/providers.md section 2; the rest from RFC 3463, 4954 and 5321.
#include "smtp/codes.hpp"

namespace pb::smtp {

Errc classify(const Reply& r, Step step) noexcept {
    const EnhancedStatus& s = r.status;

    // Specific statuses first, whatever the step.
    if (s.is(5, 7, 139)) return Errc::smtp_auth_disabled;  // SMTP AUTH off for mailbox/tenant
    if (s.is(5, 7, 3) || s.is(5, 7, 8)) return Errc::auth_rejected;
    if (s.is(5, 7, 57) || (s.is(5, 7, 0) && r.code == 530))
        return Errc::auth_rejected;                                          // not authenticated
    if (s.is(5, 7, 11) || r.code == 538) return Errc::starttls_not_offered;  // encryption required
    if (s.is(5, 7, 60) || s.is(5, 2, 252) || s.is(5, 1, 8)) return Errc::sender_not_allowed;
    if (s.is(5, 3, 4) || s.is(5, 2, 3)) return Errc::message_too_large;
    if (s.is(4, 3, 2) || s.is(4, 7, 28))
        return Errc::rate_limited;  // Exchange thread limit, Gmail rate

    if (r.code == 421) return Errc::mail_service_unavailable;
    if (r.transient()) return Errc::mail_service_unavailable;  // 451, 452, 454 ... all retried

    switch (step) {
        case Step::auth:
            if (r.code == 504) return Errc::no_common_mechanism;
            return Errc::auth_rejected;  // 535 and friends without a known status
        case Step::mail:
            if (r.code == 552) return Errc::message_too_large;
            if (r.code == 530) return Errc::auth_rejected;
            return Errc::sender_not_allowed;
        case Step::rcpt:
            if (r.code == 530) return Errc::auth_rejected;
            return Errc::recipient_rejected;
        case Step::data:
        case Step::data_end:
            if (r.code == 552) return Errc::message_too_large;
            // The receiving side refused the message after seeing it; the
            // table has no closer code than "recipient rejected".
            return Errc::recipient_rejected;
        case Step::greeting:
        case Step::ehlo:
        case Step::starttls:
        case Step::rset:
            return Errc::mail_service_unavailable;
    }
    return Errc::mail_service_unavailable;
}

}  // namespace pb::smtp
