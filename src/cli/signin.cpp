// postbridge signin | signout | status | test-connection: the manual's
// sign-in (device code, or authorization code + PKCE, or client
// credentials), its state, and a connection test that sends no mail.
#include <qrencode.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "delivery/engine.hpp"
#include "delivery/locks.hpp"
#include "oauth/pkce.hpp"
#include "oauth/sign_in.hpp"
#include "service/connection_test.hpp"
#include "service/device_sign_in.hpp"
#include "service/outbox.hpp"
#include "service/pending.hpp"
#include "service/runtime.hpp"
#include "service/transport_choice.hpp"

namespace pb::cli {
namespace {

using nlohmann::json;
using service::Runtime;

// The QR code of the verification link, in Unicode half blocks: two rows of
// modules per line, so it stays square in a terminal.
std::string qr_text(const std::string& text) {
    QRcode* q = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    if (q == nullptr) return {};
    const int n = q->width;
    const int quiet = 2;
    auto dark = [&](int x, int y) {
        if (x < 0 || y < 0 || x >= n || y >= n) return false;
        return (q->data[y * n + x] & 1) != 0;
    };
    std::string out;
    for (int y = -quiet; y < n + quiet; y += 2) {
        for (int x = -quiet; x < n + quiet; ++x) {
            const bool top = dark(x, y);
            const bool bottom = dark(x, y + 1);
            // Light modules drawn as blocks so it reads on a dark terminal.
            out += !top && !bottom ? "\u2588" : (!top ? "\u2580" : (!bottom ? "\u2584" : " "));
        }
        out += "\n";
    }
    QRcode_free(q);
    return out;
}

std::string_view provider_error(oauth::DeviceFlow::State s) {
    using S = oauth::DeviceFlow::State;
    switch (s) {
        case S::denied:
            return "access_denied";
        case S::code_expired:
            return "expired_token";
        case S::bad_code:
            return "bad_verification_code";
        case S::cancelled:
            return "cancelled";
        default:
            return "";
    }
}

struct Opened {
    store::Store* store;
    std::unique_ptr<Runtime> rt;
};

Result<Opened> open_runtime(Context& ctx, const std::string& profile) {
    auto s = ctx.store();
    if (!s) return std::move(s).error();
    auto rt = std::make_unique<Runtime>(**s, ctx.clock, ctx.rng);
    if (auto r = rt->reload(); !r) return std::move(r).error();
    if (auto r = rt->check_profile(profile); !r) return std::move(r).error();
    return Opened{*s, std::move(rt)};
}

int report_failure(Context& ctx, const std::string& profile, const Error& e,
                   std::string_view error) {
    if (ctx.json) {
        Context::emit({{"event", "failed"},
                       {"profile", profile},
                       {"code", e.number()},
                       {"error", error},
                       {"reason", e.detail.empty() ? std::string(e.info().status) : e.detail}});
        return exit_for(e) == Exit::usage ? Exit::usage : Exit::failed;
    }
    std::cerr << "postbridge: sign-in failed: " << e.describe() << "\n"
              << "What to do: " << e.info().remedy << "\n";
    return exit_for(e) == Exit::usage ? Exit::usage : Exit::failed;
}

// Jobs held for this profile's sign-in go out now. A running serve does it
// by itself within a second; without one, this process delivers them under
// the delivery lock ("Processes" in design.md). Failures here do not undo
// the sign-in: the jobs stay held or queued, and the history says why.
void release_held(Context& ctx, const std::string& profile) {
    auto running = delivery::serve_running(ctx.state_dir);
    if (!running || *running) return;
    store::Options options;
    if (const char* k = std::getenv("POSTBRIDGE_KEY"); k != nullptr && *k != '\0')
        options.key_base64 = k;
    auto outbox = service::Outbox::open(ctx.state_dir, ctx.clock, ctx.rng, {options, {}});
    if (!outbox) return;
    auto held = (*outbox)->spool().held_profiles();
    if (!held || std::find(held->begin(), held->end(), profile) == held->end()) return;
    auto lock =
        delivery::LockFile::acquire(delivery::delivery_lock_path(ctx.state_dir),
                                    delivery::LockFile::Mode::wait, std::chrono::seconds{30});
    if (!lock || !*lock) return;
    auto n = (*outbox)->engine().release(profile);
    if (!n || *n == 0) return;
    if (!ctx.json) std::cout << *n << " held job(s) of " << profile << " sent now.\n";
    (void)(*outbox)->engine().flush(profile);
}

// Shown, and the held jobs released, once a sign-in stored its tokens.
int signed_in(Context& ctx, const std::string& profile, const std::string& account) {
    if (ctx.json)
        Context::emit({{"event", "signed_in"}, {"profile", profile}, {"account", account}});
    else
        std::cout << "Signed in" << (account.empty() ? "" : " as " + account) << " (" << profile
                  << ").\n";
    release_held(ctx, profile);
    return Exit::ok;
}

int finish(Context& ctx, Runtime& rt, const std::string& profile, const oauth::Client& client,
           oauth::TokenResponse tokens) {
    if (auto who = service::check_signed_in_account(
            tokens, service::registered_address(rt.store(), profile));
        !who)
        return report_failure(ctx, profile, who.error(), "");
    auto manager = rt.tokens(profile);
    if (!manager) return ctx.report(manager.error());
    auto t = (*manager)->complete_sign_in(profile, client, std::move(tokens));
    if (!t) return report_failure(ctx, profile, t.error(), "");
    return signed_in(ctx, profile, t->account);
}

void show_code(Context& ctx, const oauth::DeviceFlow& f, bool no_wait) {
    const auto& a = *f.authorization();
    const auto left =
        std::chrono::duration_cast<std::chrono::seconds>(a.expires_at - ctx.clock.now());
    if (ctx.json) {
        Context::emit(
            {{"event", "device_code"},
             {"user_code", a.user_code},
             {"verification_uri", a.verification_uri},
             {"expires_in", left.count()},
             {"interval", std::chrono::duration_cast<std::chrono::seconds>(f.interval()).count()},
             {"message", f.message()}});
        return;
    }
    std::cout << f.message() << "\n\n"
              << qr_text(a.verification_uri_complete.empty() ? a.verification_uri
                                                             : a.verification_uri_complete)
              << "\nThe code is valid for " << left.count() / 60
              << (no_wait ? " minutes. postbridge serve completes the sign-in; "
                            "postbridge status shows when it is done.\n"
                          : " minutes. Waiting...\n")
              << std::flush;
}

int signin_device(Context& ctx, Runtime& rt, const std::string& profile,
                  const oauth::Client& client, bool no_wait) {
    auto http = rt.http(profile);
    if (!http) return ctx.report(http.error());
    oauth::CancellableWaiter waiter(ctx.clock);
    service::StorePendingRecords records(rt.store());
    service::SealedTokenStore tokens(rt.store());
    service::DeviceSignInEvents events;
    events.code_shown = [&](const oauth::DeviceFlow& f) { show_code(ctx, f, no_wait); };
    events.answered = [&](const oauth::DeviceFlow& f) {
        if (ctx.json && f.state() == oauth::DeviceFlow::State::waiting)
            Context::emit({{"event", "pending"}});
    };
    const auto out = service::start_device_sign_in(
        profile, client,
        no_wait ? service::DeviceSignInMode::hand_over : service::DeviceSignInMode::wait, ctx.rng,
        {**http, ctx.clock, waiter, records, tokens,
         service::registered_address(rt.store(), profile)},
        events);
    using End = service::DeviceSignInOutcome::End;
    switch (out.end) {
        case End::handed_over:
            return Exit::ok;  // serve has it from here
        case End::signed_in:
            return signed_in(ctx, profile, out.account);
        case End::replaced:
        case End::failed:
        case End::stopped:
            return report_failure(ctx, profile, *out.error, provider_error(out.state));
    }
    return Exit::failed;
}

int signin_code(Context& ctx, Runtime& rt, const std::string& profile, const oauth::Client& client,
                const std::string& redirect_url) {
    auto http = rt.http(profile);
    if (!http) return ctx.report(http.error());
    auto req = oauth::begin_authorization(client, ctx.rng);
    if (!req) return report_failure(ctx, profile, req.error(), "");
    std::string pasted = redirect_url;
    if (ctx.json)
        Context::emit({{"event", "authorize_url"}, {"url", req->url}});
    else
        std::cout << "To sign in, open this link in a web browser and sign in:\n\n  " << req->url
                  << "\n\nThe browser then ends on a page that may not load ("
                  << client.redirect_uri
                  << "...).\nCopy the whole address from its address bar and paste it here:\n"
                  << std::flush;
    if (pasted.empty() && !std::getline(std::cin, pasted))
        return report_failure(
            ctx, profile, fail(Errc::invalid_input, "no redirect URL was given on standard input"),
            "");
    auto code = oauth::read_redirect(client, pasted, req->state);
    if (!code) return report_failure(ctx, profile, code.error(), "");
    auto tokens = oauth::exchange_code(**http, client, *code, req->verifier, ctx.clock.now());
    if (!tokens) return report_failure(ctx, profile, tokens.error(), "");
    return finish(ctx, rt, profile, client, std::move(*tokens));
}

int signin_app(Context& ctx, Runtime& rt, const std::string& profile, const oauth::Client& client) {
    auto manager = rt.tokens(profile);
    if (!manager) return ctx.report(manager.error());
    auto t = (*manager)->access_token(profile, client);
    if (!t) return report_failure(ctx, profile, t.error(), "");
    if (ctx.json)
        Context::emit({{"event", "signed_in"}, {"profile", profile}, {"account", t->account}});
    else
        std::cout << "Signed in as the application (client credentials) (" << profile << ").\n";
    return Exit::ok;
}

int signin(Context& ctx, const std::string& profile, bool no_wait,
           const std::string& redirect_url) {
    auto o = open_runtime(ctx, profile);
    if (!o) return ctx.report(o.error());
    Runtime& rt = *o->rt;
    const auto method = rt.profile(profile).auth_method;
    if (method != settings::AuthMethod::oauth2)
        return ctx.report(fail(Errc::invalid_input,
                               fmt::format("{}: the Authentication Method is {}, and signin is for "
                                           "OAuth2: postbridge config set {}.auth_method oauth2",
                                           profile, settings::to_string(method), profile)));
    if (no_wait) {
        auto running = delivery::serve_running(ctx.state_dir);
        if (!running) return ctx.report(running.error());
        if (!*running)
            return ctx.report(fail(Errc::invalid_input,
                                   fmt::format("--no-wait leaves the polling to postbridge serve, "
                                               "and none runs on {}: start serve, or run signin "
                                               "without --no-wait",
                                               ctx.state_dir)));
    }
    auto client = rt.oauth_client(profile);
    if (!client) return report_failure(ctx, profile, client.error(), "");
    switch (client->grant) {
        case oauth::Grant::device:
            if (client->provider.endpoints.device_authorization.empty())
                return report_failure(
                    ctx, profile,
                    fail(Errc::identity_provider_config,
                         fmt::format("the provider has no device code endpoint: set {}.oauth.grant "
                                     "authorization-code",
                                     profile)),
                    "");
            return signin_device(ctx, rt, profile, *client, no_wait);
        case oauth::Grant::authorization_code:
            return signin_code(ctx, rt, profile, *client, redirect_url);
        case oauth::Grant::client_credentials:
            return signin_app(ctx, rt, profile, *client);
    }
    return Exit::failed;
}

int signout(Context& ctx, const std::string& profile) {
    auto o = open_runtime(ctx, profile);
    if (!o) return ctx.report(o.error());
    Runtime& rt = *o->rt;
    service::erase_pending(rt.store(), profile);
    auto st = rt.status(profile);
    if (!st) return ctx.report(st.error());
    if (st->state == oauth::SignInState::signed_out) {
        if (!ctx.json) std::cout << profile << " is not signed in.\n";
        return Exit::ok;
    }
    // Revocation needs the provider; without a usable client, delete locally.
    auto client = rt.oauth_client(profile);
    auto manager = rt.tokens(profile);
    if (!manager) return ctx.report(manager.error());
    bool revoked = false;
    std::string note;
    if (client) {
        auto r = (*manager)->sign_out(profile, *client);
        if (!r) return ctx.report(r.error());
        revoked = r->revoked;
        if (r->revoke_error) note = r->revoke_error->describe();
    } else {
        service::SealedTokenStore tokens(rt.store());
        if (auto r = tokens.remove(profile); !r) return ctx.report(r.error());
        note = client.error().describe();
    }
    if (ctx.json)
        Context::emit({{"event", "signed_out"}, {"profile", profile}, {"revoked", revoked}});
    else
        std::cout << "Signed out of " << profile
                  << (revoked ? "; the provider revoked the tokens" : "") << ".\n"
                  << (note.empty() ? "" : "(Not revoked at the provider: " + note + ")\n");
    return Exit::ok;
}

bool pending_now(Runtime& rt, const std::string& profile) {
    auto p = service::get_pending(rt.store(), profile);
    return p && *p && (*p)->expires_at > rt.clock().now();
}

int status(Context& ctx, const std::string& only) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    Runtime rt(**s, ctx.clock, ctx.rng);
    if (auto r = rt.reload(); !r) return ctx.report(r.error());
    std::vector<std::string> names;
    if (!only.empty()) {
        if (auto r = rt.check_profile(only); !r) return ctx.report(r.error());
        names.push_back(only);
    } else {
        auto users = (*s)->users();
        if (!users) return ctx.report(users.error());
        std::vector<std::string> u;
        for (const auto& x : *users) u.push_back(x.name);
        names = settings::profiles(u);
    }
    json profiles = json::array();
    for (const auto& p : names) {
        auto st = rt.status(p);
        if (!st) return ctx.report(st.error());
        const auto& cfg = rt.profile(p);
        oauth::SignInState state = st->state;
        if (state == oauth::SignInState::signed_out && pending_now(rt, p))
            state = oauth::SignInState::pending;
        auto warnings = rt.settings().warnings(p);
        if (st->keepalive.warning) warnings.push_back(*st->keepalive.warning);
        const auto method = cfg.auth_method;
        if (ctx.json) {
            auto j = service::status_json(rt.config(), p, *st, state);
            service::add_transport(j, rt, p);
            profiles.push_back(std::move(j));
            continue;
        }
        std::cout << "Email Server Status (" << p << ")\n";
        std::cout << fmt::format("  {:<30} {}\n", "Authentication Method",
                                 settings::to_string(method));
        std::cout << fmt::format("  {:<30} {}\n", "Email service",
                                 settings::to_string(cfg.service));
        if (const auto t = service::transport_in_effect(rt, p); t == settings::Transport::graph)
            std::cout << fmt::format("  {:<30} {}\n", "Transport",
                                     cfg.transport == settings::Transport::auto_
                                         ? "Graph (SMTP AUTH is off for this mailbox)"
                                         : "Microsoft Graph");
        if (method == settings::AuthMethod::oauth2) {
            std::cout << fmt::format("  {:<30} {}\n", "Current Status",
                                     service::current_status_label(state, cfg.oauth_grant));
            if (!st->account.empty())
                std::cout << fmt::format("  {:<30} {}\n", "Account", st->account);
            if (!st->reason.empty())
                std::cout << fmt::format("  {:<30} {}\n", "Reason", st->reason);
            if (auto v = service::rfc3339_or_empty(st->access_expires_at); !v.empty())
                std::cout << fmt::format("  {:<30} {}\n", "Access token expires", v);
            if (auto v = service::rfc3339_or_empty(st->last_refresh); !v.empty())
                std::cout << fmt::format("  {:<30} {}\n", "Last refresh", v);
            if (auto v = service::rfc3339_or_empty(st->keepalive.next_due); !v.empty())
                std::cout << fmt::format("  {:<30} {}\n", "Next keep-alive", v);
        }
        std::cout << fmt::format("  {:<30} {}\n", "Sender's Email Address", cfg.sender);
        std::cout << fmt::format("  {:<30} {}:{} ({})\n", "SMTP Server", cfg.smtp_host,
                                 cfg.smtp_port, settings::to_string(cfg.smtp_security));
        for (const auto& w : warnings) std::cout << "  Warning: " << w << "\n";
        std::cout << "\n";
    }
    if (ctx.json) Context::emit({{"profiles", profiles}});
    return Exit::ok;
}

int test_connection(Context& ctx, const std::string& profile) {
    auto o = open_runtime(ctx, profile);
    if (!o) return ctx.report(o.error());
    auto t = service::run_connection_test(*o->rt, profile);
    if (!t) return ctx.report(t.error());
    if (ctx.json)
        Context::emit(service::connection_test_json(profile, *t));
    else
        std::cout << service::connection_test_text(*t);
    return t->ok() ? Exit::ok : Exit::failed;
}

}  // namespace

void add_signin_commands(CLI::App& app, Context& ctx) {
    struct Args {
        std::string profile = "email";
        bool no_wait = false;
        std::string redirect_url;
        std::string status_profile;
    };
    auto a = std::make_shared<Args>();

    auto* si = app.add_subcommand("signin", "Sign a profile in to its email service (OAuth2)");
    si->add_option("--profile", a->profile, "email, fax or user:NAME")->capture_default_str();
    si->add_flag("--no-wait", a->no_wait, "return once the code is shown (needs serve)");
    si->add_option("--redirect-url", a->redirect_url,
                   "authorization code: the URL the browser ended on (else read from stdin)");
    si->callback(
        [&ctx, a] { ctx.exit_status = signin(ctx, a->profile, a->no_wait, a->redirect_url); });

    auto* so =
        app.add_subcommand("signout", "Sign a profile out (revoking its tokens where possible)");
    so->add_option("--profile", a->profile, "email, fax or user:NAME")->capture_default_str();
    so->callback([&ctx, a] { ctx.exit_status = signout(ctx, a->profile); });

    auto* st =
        app.add_subcommand("status", "Email Server Status: each profile's settings and sign-in");
    st->add_option("--profile", a->status_profile, "only this profile");
    st->callback([&ctx, a] { ctx.exit_status = status(ctx, a->status_profile); });

    auto* tc = app.add_subcommand("test-connection", "Connect, secure, authenticate; send nothing");
    tc->add_option("--profile", a->profile, "email, fax or user:NAME")->capture_default_str();
    tc->callback([&ctx, a] { ctx.exit_status = test_connection(ctx, a->profile); });
}

}  // namespace pb::cli
