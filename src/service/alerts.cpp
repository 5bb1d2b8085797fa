// Alerts (alerts.hpp).
#include "service/alerts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "mime/message.hpp"
#include "oauth/keepalive.hpp"

namespace pb::service {
namespace {

constexpr auto kMailEvery = std::chrono::hours{24};

std::int64_t ms(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string day_of(TimePoint t) {
    return format_rfc3339(t).substr(0, 10);
}

std::string human(Duration d) {
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(d).count();
    if (minutes < 120) return fmt::format("{} minutes", minutes);
    if (minutes < 48 * 60) return fmt::format("{} hours", minutes / 60);
    return fmt::format("{} days", minutes / (24 * 60));
}

}  // namespace

std::vector<AlertCondition> Alerts::conditions() {
    std::vector<AlertCondition> out;
    auto names = outbox_.profiles();
    if (!names) {
        log_(fmt::format("alerts: {}", names.error().describe()));
        return out;
    }
    const auto now = clock_.now();
    const auto config = outbox_.config();
    auto held = outbox_.spool().held_profiles();
    const std::set<std::string> held_set =
        held ? std::set<std::string>(held->begin(), held->end()) : std::set<std::string>{};
    for (const auto& p : *names) {
        if (config->profile(p).auth_method != settings::AuthMethod::oauth2) continue;
        auto st = outbox_.status(p);
        if (!st) continue;
        if (st->state == oauth::SignInState::signed_in && st->keepalive.lapse_at &&
            *st->keepalive.lapse_at - now <= oauth::lapse_warning_window) {
            out.push_back(
                {"signin-lapse:" + p, p,
                 fmt::format("the sign-in of {} lapses on {}", p, day_of(*st->keepalive.lapse_at)),
                 fmt::format("The sign-in of profile {}{} has not been used or refreshed since {} "
                             "and the provider drops it on {} unless it is used. Keep-alive could "
                             "not refresh it; the log says why. Sign in again on Web Config's "
                             "Basic page (Email Server), or check the network and the identity "
                             "provider.",
                             p, st->account.empty() ? "" : " (" + st->account + ")",
                             st->last_refresh ? day_of(*st->last_refresh) : "its sign-in",
                             day_of(*st->keepalive.lapse_at))});
        }
        const auto problem = outbox_.sign_in_problem(p);
        if (problem && (*problem == Errc::sign_in_expired || *problem == Errc::sign_in_again) &&
            held_set.contains(p)) {
            const int code = static_cast<int>(*problem);
            out.push_back(
                {"held:" + p, p, fmt::format("jobs of {} are held with code {}", p, code),
                 fmt::format("Jobs of profile {} are held with code {}: {}{}. They are sent as "
                             "soon as somebody signs in again on Web Config's Basic page "
                             "(Email Server).",
                             p, code, info(*problem).status,
                             st->reason.empty() ? "" : " (" + st->reason + ")")});
        }
    }
    auto oldest = outbox_.spool().oldest_waiting(false);
    if (oldest) {
        const auto limit = std::chrono::duration_cast<Duration>(config->global().notify_queue_age);
        for (const auto& [p, t] : *oldest) {
            if (now - t <= limit) continue;
            out.push_back({"queue-age:" + p, p,
                           fmt::format("mail of {} has waited {}", p, human(now - t)),
                           fmt::format("The oldest queued job of profile {} was accepted {} ago "
                                       "(notify.queue_age is {}). The Job Status page says why "
                                       "it waits (the code and the server's words).",
                                       p, human(now - t), human(limit))});
        }
    }
    return out;
}

std::string Alerts::sender_profile(const std::string& preferred) {
    const auto config = outbox_.config();
    auto can = [&](const std::string& p) {
        return !config->profile(p).sender.empty() && !outbox_.sign_in_problem(p);
    };
    if (!preferred.empty() && can(preferred)) return preferred;
    auto names = outbox_.profiles();
    if (!names) return {};
    for (const auto& p : *names)
        if (can(p)) return p;
    return {};
}

bool Alerts::mail(const std::string& profile, const std::string& to, const std::string& subject,
                  const std::string& text) {
    mime::Draft draft;
    draft.to = {to};
    draft.subject = "postbridge: " + subject;
    draft.text = text + "\n";
    auto r = outbox_.intake().compose(spool::Function::notification, profile, std::move(draft));
    if (!r) {
        log_(fmt::format("alerts: cannot mail {}: {}", to, r.error().describe()));
        return false;
    }
    log_(fmt::format("alerts: mailed {} ({}) as job {}", to, subject, r->id));
    return true;
}

std::size_t Alerts::check() {
    store::Store& store = outbox_.store();
    const auto now = clock_.now();
    const std::string to = outbox_.config()->global().notify_email;
    std::size_t mailed = 0;
    std::set<std::string> active;
    for (const auto& c : conditions()) {
        active.insert(c.key);
        const std::string via = to.empty() ? std::string{} : sender_profile(c.profile);
        std::optional<std::int64_t> every;
        if (!via.empty())
            every = std::chrono::duration_cast<std::chrono::milliseconds>(kMailEvery).count();
        auto due = store.raise_alert(c.key, c.text, ms(now), every);
        if (!due) {
            log_(fmt::format("alerts: {}", due.error().describe()));
            continue;
        }
        if (!*due) {
            // Once per condition and process: it holds, and it was mailed
            // within the day, so this pass sends nothing.
            if (!via.empty() && still_.insert(c.key).second)
                log_(fmt::format("alert: {} still holds; mailed within the last day", c.key));
            continue;
        }
        log_(fmt::format("alert: {}", c.summary));
        if (mail(via, to, c.summary, c.text))
            ++mailed;
        else
            (void)store.unmark_alert_mail(c.key);
    }
    auto all = store.alerts();
    if (!all) return mailed;
    for (const auto& a : *all) {
        if (active.contains(a.condition)) continue;
        still_.erase(a.condition);
        auto gone = store.clear_alert(a.condition);
        if (!gone || !*gone) continue;
        log_(fmt::format("alert cleared: {}", a.condition));
        // A note only to whoever was told of it.
        if (!(*gone)->mailed_at || to.empty()) continue;
        const auto colon = a.condition.find(':');
        const std::string profile =
            colon == std::string::npos ? std::string{} : a.condition.substr(colon + 1);
        const std::string via = sender_profile(profile);
        if (via.empty()) continue;
        if (mail(via, to, "cleared: " + a.condition, "This no longer holds:\n\n" + a.text))
            ++mailed;
    }
    return mailed;
}

}  // namespace pb::service
