#include "oauth/keepalive.hpp"

#include <algorithm>

namespace pb::oauth {

KeepAlivePlan keepalive_plan(const TokenSet& tokens, Duration interval, Duration inactivity_limit,
                             TimePoint now) {
    KeepAlivePlan plan;
    if (tokens.state != SignInState::signed_in || !tokens.has_refresh_token()) return plan;
    // The inactivity clock of both providers restarts with each use of the
    // refresh token, which is exactly when last_refresh is set.
    const TimePoint last = std::max(tokens.last_refresh, tokens.signed_in_at);
    if (inactivity_limit > Duration::zero()) plan.lapse_at = last + inactivity_limit;
    if (interval > Duration::zero()) {
        plan.next_due = std::max(last + interval, now);
        // After a failed keep-alive (the provider unreachable), try again
        // hourly rather than on every pass.
        if (tokens.keepalive_failed_at)
            plan.next_due = std::max(*plan.next_due, *tokens.keepalive_failed_at + keepalive_retry);
    }

    if (tokens.keepalive_failed_at) {
        plan.warning = "The last keep-alive of the sign-in failed on " +
                       format_rfc3339(*tokens.keepalive_failed_at) +
                       (plan.lapse_at ? "; it lapses on " + format_rfc3339(*plan.lapse_at) +
                                            " unless it succeeds"
                                      : std::string{}) +
                       ".";
    } else if (plan.lapse_at && *plan.lapse_at - now <= lapse_warning_window) {
        plan.warning = "The sign-in lapses on " + format_rfc3339(*plan.lapse_at) +
                       " unless it is used before then" +
                       (interval > Duration::zero() ? std::string{} : " (keep-alive is off)") + ".";
    }
    return plan;
}

}  // namespace pb::oauth
