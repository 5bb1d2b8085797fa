// Commands that manage the state's people and trust: users (Scan to My
// Email), CA certificates, the administrator password, API tokens and relay
// device accounts. Only hashes of passwords and tokens are stored.
#include <iostream>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "core/crypto.hpp"
#include "core/settings.hpp"
#include "relay/logins.hpp"

namespace pb::cli {
namespace {

std::string when(std::int64_t unix_seconds) {
    return format_rfc3339(TimePoint{std::chrono::seconds{unix_seconds}});
}

int users_add(Context& ctx, const std::string& name, const std::string& email) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    if (auto r = (*s)->add_user(name, email); !r) return ctx.report(r.error());
    if (ctx.json)
        Context::emit({{"user", name}, {"email", email}, {"profile", "user:" + name}});
    else
        std::cout << fmt::format(
            "Registered {} <{}>. Sign the user in with: postbridge signin "
            "--profile user:{}\n",
            name, email, name);
    return Exit::ok;
}

int users_list(Context& ctx) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto users = (*s)->users();
    if (!users) return ctx.report(users.error());
    for (const auto& u : *users) {
        if (ctx.json)
            Context::emit(
                {{"user", u.name}, {"email", u.email}, {"created_at", when(u.created_at)}});
        else
            std::cout << fmt::format("{:<20} {}\n", u.name, u.email);
    }
    return Exit::ok;
}

int users_remove(Context& ctx, const std::string& name) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    if (auto r = (*s)->remove_user(name); !r) return ctx.report(r.error());
    if (!ctx.json) std::cout << "Removed " << name << " and its sign-in.\n";
    return Exit::ok;
}

void print_ca(Context& ctx, const store::CaCert& c) {
    if (ctx.json)
        Context::emit({{"id", c.id},
                       {"subject", c.subject},
                       {"issuer", c.issuer},
                       {"not_before", c.not_before},
                       {"not_after", c.not_after}});
    else
        std::cout << fmt::format("{}  {}\n    issuer: {}\n    valid: {} to {}\n", c.id, c.subject,
                                 c.issuer, c.not_before, c.not_after);
}

int ca_import(Context& ctx, const std::string& file) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto certs = (*s)->import_ca(file);
    if (!certs) return ctx.report(certs.error());
    for (const auto& c : *certs) print_ca(ctx, c);
    return Exit::ok;
}

int ca_list(Context& ctx) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto certs = (*s)->ca_certs();
    if (!certs) return ctx.report(certs.error());
    for (const auto& c : *certs) print_ca(ctx, c);
    return Exit::ok;
}

int ca_remove(Context& ctx, const std::string& id) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    if (auto r = (*s)->remove_ca(id); !r) return ctx.report(r.error());
    return Exit::ok;
}

int admin_password_set(Context& ctx) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto pw = read_secret("New administrator password", true);
    if (!pw) return ctx.report(pw.error());
    if (pw->size() < 8)
        return ctx.report(
            fail(Errc::invalid_input, "the password must have at least 8 characters"));
    if (auto r = (*s)->put_credential("admin", "admin", hash_password(*pw, ctx.rng)); !r)
        return ctx.report(r.error());
    if (!ctx.json) std::cout << "The administrator password was changed.\n";
    return Exit::ok;
}

bool valid_name(const std::string& n) {
    return settings::valid_user_name(n);
}

int api_token_create(Context& ctx, const std::string& name, bool read_only) {
    if (!valid_name(name))
        return ctx.report(fail(Errc::invalid_input,
                               fmt::format("'{}' is not a token name: use lowercase letters, "
                                           "digits, '.', '_' and '-'",
                                           name)));
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    // One name space for both kinds: `revoke NAME` must name one token.
    for (const char* kind : {store::kApiTokenKind, store::kReadOnlyApiTokenKind}) {
        auto existing = (*s)->credential(kind, name);
        if (!existing) return ctx.report(existing.error());
        if (*existing)
            return ctx.report(
                fail(Errc::invalid_input,
                     fmt::format("an API token named '{}' exists: revoke it first", name)));
    }
    // 256 random bits: a fast hash is enough to store it (no guessing).
    const Secret token("pb_" + random_base64url(ctx.rng, 32));
    const char* kind = read_only ? store::kReadOnlyApiTokenKind : store::kApiTokenKind;
    if (auto r = (*s)->put_credential(kind, name, sha256_hex(token.reveal())); !r)
        return ctx.report(r.error());
    if (ctx.json)
        Context::emit(
            {{"name", name}, {"token", std::string(token.reveal())}, {"read_only", read_only}});
    else
        std::cout << token.reveal() << "\n"
                  << "This is the only time the token is shown. Send it as: Authorization: Bearer "
                     "<token>\n"
                  << (read_only ? "It is read-only: GET /api/v1/status, /api/v1/jobs and "
                                  "/metrics.\n"
                                : "");
    return Exit::ok;
}

int api_token_list(Context& ctx) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    for (const char* kind : {store::kApiTokenKind, store::kReadOnlyApiTokenKind}) {
        const bool read_only = std::string_view(kind) == store::kReadOnlyApiTokenKind;
        auto all = (*s)->credentials(kind);
        if (!all) return ctx.report(all.error());
        for (const auto& [name, created] : *all) {
            if (ctx.json)
                Context::emit(
                    {{"name", name}, {"created_at", when(created)}, {"read_only", read_only}});
            else
                std::cout << fmt::format("{:<24} created {}{}\n", name, when(created),
                                         read_only ? "  read-only" : "");
        }
    }
    return Exit::ok;
}

int api_token_revoke(Context& ctx, const std::string& name) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    for (const char* kind : {store::kApiTokenKind, store::kReadOnlyApiTokenKind}) {
        auto removed = (*s)->remove_credential(kind, name);
        if (!removed) return ctx.report(removed.error());
        if (*removed) return Exit::ok;
    }
    return ctx.report(fail(Errc::invalid_input, fmt::format("no api-token named '{}'", name)));
}

int list_credentials(Context& ctx, const std::string& kind) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto all = (*s)->credentials(kind);
    if (!all) return ctx.report(all.error());
    for (const auto& [name, created] : *all) {
        if (ctx.json)
            Context::emit({{"name", name}, {"created_at", when(created)}});
        else
            std::cout << fmt::format("{:<24} created {}\n", name, when(created));
    }
    return Exit::ok;
}

int remove_credential(Context& ctx, const std::string& kind, const std::string& name) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto removed = (*s)->remove_credential(kind, name);
    if (!removed) return ctx.report(removed.error());
    if (!*removed)
        return ctx.report(fail(Errc::invalid_input, fmt::format("no {} named '{}'", kind, name)));
    return Exit::ok;
}

int relay_user_add(Context& ctx, const std::string& name) {
    if (!valid_name(name))
        return ctx.report(fail(Errc::invalid_input,
                               fmt::format("'{}' is not a device account name: use lowercase "
                                           "letters, digits, '.', '_' and '-'",
                                           name)));
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto pw = read_secret("Password for device account " + name, true);
    if (!pw) return ctx.report(pw.error());
    if (pw->reveal().size() < relay::kMinDevicePassword)
        return ctx.report(fail(Errc::invalid_input,
                               fmt::format("the password must have at least {} characters: any "
                                           "machine on the LAN may try to guess it",
                                           relay::kMinDevicePassword)));
    if (auto r = (*s)->put_credential("relay-user", name, hash_password(*pw, ctx.rng)); !r)
        return ctx.report(r.error());
    if (!ctx.json) std::cout << "Device account " << name << " can now log in to the relay.\n";
    return Exit::ok;
}

}  // namespace

void add_admin_commands(CLI::App& app, Context& ctx) {
    struct Args {
        std::string name, email, file, id;
        bool read_only = false;
    };
    auto a = std::make_shared<Args>();

    auto* users = app.add_subcommand("users", "Users of Scan to My Email, each with a sign-in");
    users->require_subcommand(1);
    auto* uadd = users->add_subcommand("add", "Register a user");
    uadd->add_option("NAME", a->name, "lowercase letters, digits, . _ -")->required();
    uadd->add_option("--email", a->email, "the user's own address (the sender)")->required();
    uadd->callback([&ctx, a] { ctx.exit_status = users_add(ctx, a->name, a->email); });
    users->add_subcommand("list", "Registered users")->callback([&ctx] {
        ctx.exit_status = users_list(ctx);
    });
    auto* urm = users->add_subcommand("remove", "Remove a user and its sign-in");
    urm->add_option("NAME", a->name)->required();
    urm->callback([&ctx, a] { ctx.exit_status = users_remove(ctx, a->name); });

    auto* ca = app.add_subcommand("ca", "CA certificates trusted besides the system's");
    ca->require_subcommand(1);
    auto* cimp = ca->add_subcommand("import", "Trust the CA certificate(s) in FILE (PEM or DER)");
    cimp->add_option("FILE", a->file)->required()->check(CLI::ExistingFile);
    cimp->callback([&ctx, a] { ctx.exit_status = ca_import(ctx, a->file); });
    ca->add_subcommand("list", "Imported CA certificates")->callback([&ctx] {
        ctx.exit_status = ca_list(ctx);
    });
    auto* crm = ca->add_subcommand("remove", "Stop trusting an imported CA");
    crm->add_option("ID", a->id, "as shown by ca list")->required();
    crm->callback([&ctx, a] { ctx.exit_status = ca_remove(ctx, a->id); });

    auto* admin = app.add_subcommand("admin-password", "The web page's administrator password");
    admin->require_subcommand(1);
    admin->add_subcommand("set", "Set it (typed, or read from standard input)")->callback([&ctx] {
        ctx.exit_status = admin_password_set(ctx);
    });

    auto* api = app.add_subcommand("api-token", "Tokens for the JSON API");
    api->require_subcommand(1);
    auto* acr = api->add_subcommand("create", "Make a token (shown once)");
    acr->add_option("NAME", a->name)->required();
    acr->add_flag("--read-only", a->read_only, "status, jobs and metrics only");
    acr->callback([&ctx, a] { ctx.exit_status = api_token_create(ctx, a->name, a->read_only); });
    api->add_subcommand("list", "Token names")->callback([&ctx] {
        ctx.exit_status = api_token_list(ctx);
    });
    auto* arv = api->add_subcommand("revoke", "Delete a token");
    arv->add_option("NAME", a->name)->required();
    arv->callback([&ctx, a] { ctx.exit_status = api_token_revoke(ctx, a->name); });

    auto* relay = app.add_subcommand("relay-users", "Device accounts that may log in to the relay");
    relay->require_subcommand(1);
    auto* radd =
        relay->add_subcommand("add", "Add an account (password typed or from standard input)");
    radd->add_option("NAME", a->name)->required();
    radd->callback([&ctx, a] { ctx.exit_status = relay_user_add(ctx, a->name); });
    relay->add_subcommand("list", "Device accounts")->callback([&ctx] {
        ctx.exit_status = list_credentials(ctx, "relay-user");
    });
    auto* rrm = relay->add_subcommand("remove", "Remove an account");
    rrm->add_option("NAME", a->name)->required();
    rrm->callback([&ctx, a] { ctx.exit_status = remove_credential(ctx, "relay-user", a->name); });
}

}  // namespace pb::cli
