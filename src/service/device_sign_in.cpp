// The device sign-in driver (see device_sign_in.hpp).
#include "service/device_sign_in.hpp"

#include <fmt/format.h>

#include "core/text.hpp"
#include "oauth/token_manager.hpp"

namespace pb::service {
namespace {

using End = DeviceSignInOutcome::End;
using State = oauth::DeviceFlow::State;

struct Run {
    const std::string& profile;
    const oauth::Client& client;
    std::string nonce;
    DeviceSignInMode mode;
    // The code was shown, and the record written, by whoever asked for it.
    bool resumed;
};

// A record that cannot be read counts as gone: polling on for a sign-in
// that may have been replaced could store tokens nobody asked for any more.
bool still_ours(PendingRecords& records, const std::string& profile, const std::string& nonce) {
    auto p = records.get(profile);
    return p && *p && (*p)->nonce == nonce;
}

DeviceSignInOutcome ended(End end, State state, std::optional<Error> error = {}) {
    DeviceSignInOutcome out;
    out.end = end;
    out.state = state;
    out.error = std::move(error);
    return out;
}

DeviceSignInOutcome drive(oauth::DeviceFlow& flow, const Run& run, const DeviceSignInEnv& env,
                          const DeviceSignInEvents& events) {
    bool shown = run.resumed;
    // Why this driver, not the flow, ended the run (the flow only knows it
    // was cancelled).
    std::optional<End> stopped_here;
    std::optional<Error> unrecorded;
    auto on_change = [&](const oauth::DeviceFlow& f) {
        // An answer that ends the flow ends it whatever the record says:
        // tokens that came are kept, and a newer sign-in that completes
        // replaces them.
        if (f.done()) return;
        if (!shown) {
            if (f.state() != State::waiting || !f.authorization()) return;
            shown = true;
            const auto& a = *f.authorization();
            auto record = pending_for(a, run.nonce);
            // Sealed in the state like every secret; serve polls with it.
            if (run.mode == DeviceSignInMode::hand_over) record.device_code = a.device_code;
            if (auto put = env.records.put(run.profile, record); !put) {
                // Without its record no poller could take a handed-over
                // code, and a waiting flow would take itself for replaced
                // at its next answer: fail now, before the code is shown.
                unrecorded = std::move(put).error();
                flow.cancel();
                return;
            }
            if (events.code_shown) events.code_shown(f);
            if (run.mode == DeviceSignInMode::hand_over) {
                stopped_here = End::handed_over;
                flow.cancel();
            }
            return;
        }
        if (!still_ours(env.records, run.profile, run.nonce)) {
            stopped_here = End::replaced;
            flow.cancel();
            return;
        }
        if (events.answered) events.answered(f);
    };
    // on_change cancels `flow` itself rather than through the waiter: the
    // run then ends at once, whatever step the flow would take next.
    auto tokens = oauth::run_device_flow(flow, env.http, env.clock, env.waiter, on_change);

    if (unrecorded) return ended(End::failed, flow.state(), std::move(unrecorded));
    if (stopped_here == End::handed_over) return ended(End::handed_over, flow.state());
    if (stopped_here == End::replaced) {
        // The record is the newer sign-in's now: it stays.
        Error e = tokens.error();
        e.detail = fmt::format("a newer sign-in of {} replaced this one", run.profile);
        return ended(End::replaced, flow.state(), std::move(e));
    }
    if (!tokens && flow.state() == State::cancelled) {
        // A resumed flow's record carries the device code: the next serve
        // resumes it while the code is valid. A new flow's record would only
        // name a code that nobody polls for.
        if (!run.resumed) env.records.erase(run.profile, run.nonce);
        return ended(End::stopped, flow.state(), tokens.error());
    }
    env.records.erase(run.profile, run.nonce);
    if (!tokens) return ended(End::failed, flow.state(), std::move(tokens).error());

    if (auto who = check_signed_in_account(*tokens, env.expected_account); !who)
        return ended(End::failed, flow.state(), std::move(who).error());
    oauth::TokenManager manager(env.http, env.tokens, env.clock);
    auto t = manager.complete_sign_in(run.profile, run.client, std::move(*tokens));
    if (!t) return ended(End::failed, flow.state(), std::move(t).error());
    auto out = ended(End::signed_in, flow.state());
    out.account = t->account;
    return out;
}

}  // namespace

Result<void> check_signed_in_account(const oauth::TokenResponse& tokens,
                                     std::string_view expected) {
    if (expected.empty()) return {};
    for (const auto& name : tokens.identities)
        if (iequals(name, expected)) return {};
    if (tokens.identities.empty())
        return fail(Errc::sign_in_again,
                    fmt::format("the provider did not say which account signed in, so it cannot "
                                "be checked against {}: add openid and email to oauth.scopes",
                                expected));
    return fail(Errc::sign_in_again,
                fmt::format("You signed in as {}, but this sign-in is for {}. Sign in again with "
                            "the account of {}.",
                            tokens.identities.front(), expected, expected));
}

std::string registered_address(store::Store& store, std::string_view profile) {
    if (!profile.starts_with("user:")) return {};
    auto users = store.users();
    if (!users) return {};
    for (const auto& u : *users)
        if (u.name == profile.substr(5)) return u.email;
    return {};
}

DeviceSignInOutcome start_device_sign_in(const std::string& profile, const oauth::Client& client,
                                         DeviceSignInMode mode, Random& rng,
                                         const DeviceSignInEnv& env,
                                         const DeviceSignInEvents& events) {
    oauth::DeviceFlow flow(client);
    return drive(flow, Run{profile, client, random_hex(rng, 16), mode, false}, env, events);
}

DeviceSignInOutcome resume_device_sign_in(const std::string& profile, const oauth::Client& client,
                                          const PendingSignIn& record, const DeviceSignInEnv& env,
                                          const DeviceSignInEvents& events) {
    // Such a record is a waiting flow's in another process: not ours to
    // poll, nor to erase.
    if (!record.device_code)
        return ended(
            End::failed, State::start,
            fail(Errc::invalid_input,
                 fmt::format("the pending sign-in of {} has no device code to poll for", profile)));
    auto flow = oauth::DeviceFlow::resume(client, authorization_of(record), env.clock.now());
    return drive(flow, Run{profile, client, record.nonce, DeviceSignInMode::wait, true}, env,
                 events);
}

}  // namespace pb::service
