// postbridge config show|get|set|import|export: the settings of design.md,
// validated by the schema. A command that finds any invalid value changes
// nothing and exits 2.
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/app.hpp"
#include "core/settings.hpp"
#include "service/replaced_sign_in.hpp"
#include "service/tokens.hpp"

namespace pb::cli {
namespace {

namespace st = pb::settings;
using Changes = std::vector<std::pair<std::string, std::optional<std::string>>>;

Result<std::vector<std::string>> all_profiles(store::Store& s) {
    auto users = s.users();
    if (!users) return std::move(users).error();
    std::vector<std::string> names;
    for (const auto& u : *users) names.push_back(u.name);
    return st::profiles(names);
}

std::string shown(const st::Key& key, store::Store& s, const st::Settings& cfg) {
    if (key.def->type == st::Type::secret) return s.has_secret(key.full()) ? "(set)" : "(not set)";
    return cfg.get(key.profile, key.def->name);
}

int show(Context& ctx) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto cfg = (*s)->load_settings();
    if (!cfg) return ctx.report(cfg.error());
    auto profiles = all_profiles(**s);
    if (!profiles) return ctx.report(profiles.error());

    nlohmann::json j = nlohmann::json::object();
    nlohmann::json warnings = nlohmann::json::array();
    auto line = [&](const st::Key& k) {
        const std::string v = shown(k, **s, *cfg);
        const std::string_view origin =
            k.def->type == st::Type::secret ? "set" : cfg->origin(k.profile, k.def->name);
        if (ctx.json) {
            j[k.full()] = {{"value", v}, {"origin", origin}};
        } else {
            std::cout << fmt::format("{:<40} {}{}\n", k.full(), v,
                                     origin == "set" ? "" : fmt::format("  ({})", origin));
        }
    };
    for (const auto& d : st::schema())
        if (d.scope() == st::Scope::global) line(st::Key{"", &d});
    for (const auto& p : *profiles) {
        if (!ctx.json) std::cout << "\n[" << p << "]\n";
        for (const auto& d : st::schema())
            if (d.scope() == st::Scope::profile) line(st::Key{p, &d});
        for (auto& w : cfg->warnings(p)) warnings.push_back(w);
    }
    if (ctx.json) {
        Context::emit({{"settings", j}, {"warnings", warnings}});
    } else if (!warnings.empty()) {
        std::cout << "\nWarnings:\n";
        for (const auto& w : warnings) std::cout << "  " << w.get<std::string>() << "\n";
    }
    return Exit::ok;
}

int get(Context& ctx, const std::string& name) {
    auto key = st::parse_key(name);
    if (!key) return ctx.report(key.error());
    if (!ctx.state_exists()) {
        // Nothing set up yet: the default is the answer, and reading it
        // makes no state (the command only reads).
        const std::string v = key->def->type == st::Type::secret
                                  ? "(not set)"
                                  : st::Settings{}.get(key->profile, key->def->name);
        std::cerr << fmt::format("postbridge: no state in {} yet: {} is its default\n",
                                 ctx.state_dir, key->full());
        if (ctx.json)
            Context::emit({{"key", key->full()}, {"value", v}, {"origin", "default"}});
        else
            std::cout << v << "\n";
        return Exit::ok;
    }
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto cfg = (*s)->load_settings();
    if (!cfg) return ctx.report(cfg.error());
    const std::string v = shown(*key, **s, *cfg);
    if (ctx.json)
        Context::emit({{"key", key->full()},
                       {"value", v},
                       {"origin", cfg->origin(key->profile, key->def->name)}});
    else
        std::cout << v << "\n";
    return Exit::ok;
}

// One service at a time per profile: the sign-ins that belonged to the
// settings `before` end (service/replaced_sign_in.hpp), each said.
int end_replaced_sign_ins(Context& ctx, store::Store& s, const st::Settings& before) {
    auto after = s.load_settings();
    if (!after) return ctx.report(after.error());
    auto users = s.users();
    if (!users) return ctx.report(users.error());
    std::vector<std::string> names;
    for (const auto& u : *users) names.push_back(u.name);
    service::SealedTokenStore tokens(s);
    for (const auto& profile : service::replaced_sign_ins(before, *after, st::profiles(names))) {
        auto ended = service::end_sign_in(s, tokens, before, profile, ctx.clock);
        if (!ended) return ctx.report(ended.error());
        if (!*ended) continue;
        if (ctx.json)
            Context::emit(nlohmann::json{{"signed_out", profile},
                                         {"account", (*ended)->account},
                                         {"revoked", (*ended)->revoked},
                                         {"message", service::describe(**ended)}});
        else
            std::cout << service::describe(**ended) << "\n";
    }
    return Exit::ok;
}

// Applies changes after validating every one; prints what changed.
int apply(Context& ctx, store::Store& s, Changes changes, bool replace = false) {
    // Expand presets and validate the whole batch before writing anything.
    auto checked = s.check_changes(changes);
    if (!checked) return ctx.report(checked.error());
    const Changes& expanded = checked->changes;
    const std::vector<std::string>& problems = checked->problems;
    if (!problems.empty()) {
        for (std::size_t i = 0; i + 1 < problems.size(); ++i)
            (void)ctx.report(fail(Errc::invalid_input, problems[i]));
        (void)ctx.report(fail(Errc::invalid_input, problems.back()));
        if (!ctx.json) std::cerr << "postbridge: nothing was changed\n";
        return Exit::usage;
    }
    auto before = s.load_settings();
    if (!before) return ctx.report(before.error());
    auto changed = s.apply_changes(expanded, replace);
    if (!changed) return ctx.report(changed.error());
    for (const auto& c : *changed) {
        if (ctx.json)
            Context::emit({{"changed", c.key}, {"value", c.new_value}});
        else
            std::cout << fmt::format(
                "{}: {}{}\n", c.key, c.new_value.empty() ? "(unset)" : c.new_value,
                c.old_value.empty() ? "" : fmt::format(" (was {})", c.old_value));
    }
    if (changed->empty()) return Exit::ok;
    return end_replaced_sign_ins(ctx, s, *before);
}

int set(Context& ctx, const std::string& name, const std::string& value) {
    auto key = st::parse_key(name);
    if (!key) return ctx.report(key.error());
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    std::string v = value;
    // A secret on the command line shows in `ps`: "-" reads it from stdin.
    if (key->def->type == st::Type::secret && value == "-") {
        auto sec = read_secret(name, false);
        if (!sec) return ctx.report(sec.error());
        v = std::string(sec->reveal());
    }
    return apply(ctx, **s, {{name, v}});
}

nlohmann::json export_json(store::Store& s, const st::Settings& cfg,
                           const std::vector<std::string>& profiles, bool with_secrets,
                           std::vector<Error>& errors) {
    nlohmann::json j = nlohmann::json::object();
    auto put = [&](const st::Key& k) {
        if (k.def->type != st::Type::secret) {
            j[k.full()] = cfg.get(k.profile, k.def->name);
            return;
        }
        if (!with_secrets) return;
        auto sec = s.get_sealed("setting:" + k.full());
        if (!sec) {
            errors.push_back(sec.error());
            return;
        }
        if (*sec) j[k.full()] = std::string((*sec)->reveal());
    };
    for (const auto& d : st::schema())
        if (d.scope() == st::Scope::global) put(st::Key{"", &d});
    for (const auto& p : profiles)
        for (const auto& d : st::schema())
            if (d.scope() == st::Scope::profile) put(st::Key{p, &d});
    return j;
}

int do_export(Context& ctx, bool with_secrets) {
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto cfg = (*s)->load_settings();
    if (!cfg) return ctx.report(cfg.error());
    auto profiles = all_profiles(**s);
    if (!profiles) return ctx.report(profiles.error());
    std::vector<Error> errors;
    const auto j = export_json(**s, *cfg, *profiles, with_secrets, errors);
    if (!errors.empty()) return ctx.report(errors.front());
    std::cout << j.dump(2) << "\n";
    return Exit::ok;
}

int do_import(Context& ctx, const std::string& file, bool replace) {
    std::ifstream in(file);
    if (!in) return ctx.report(fail(Errc::invalid_input, "cannot read " + file));
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::parse_error& e) {
        return ctx.report(
            fail(Errc::invalid_input, fmt::format("{} is not valid JSON: {}", file, e.what())));
    }
    if (!j.is_object())
        return ctx.report(fail(Errc::invalid_input,
                               file + " must hold one JSON object of \"key\": \"value\" pairs"));
    auto s = ctx.store();
    if (!s) return ctx.report(s.error());
    auto cfg = (*s)->load_settings();
    if (!cfg) return ctx.report(cfg.error());
    st::Settings base = replace ? st::Settings{} : *cfg;

    Changes changes;
    std::vector<std::string> problems;
    for (const auto& [k, v] : j.items()) {
        std::string value;
        if (v.is_string())
            value = v.get<std::string>();
        else if (v.is_number_integer())
            value = std::to_string(v.get<std::int64_t>());
        else if (v.is_boolean())
            value = v.get<bool>() ? "true" : "false";
        else {
            problems.push_back(fmt::format("{}: the value must be a string, number or boolean", k));
            continue;
        }
        auto key = st::parse_key(k);
        if (!key) {
            problems.push_back(key.error().detail);
            continue;
        }
        if (auto n = st::normalize(*key, value); !n) {
            problems.push_back(n.error().detail);
            continue;
        }
        // An exported file lists every effective value; only what differs
        // from what would apply anyway is stored, so inheritance and presets
        // keep working after an export/import round trip.
        if (key->def->type != st::Type::secret && base.get(key->profile, key->def->name) == value)
            continue;
        changes.emplace_back(k, value);
    }
    if (!problems.empty()) {
        for (const auto& p : problems) (void)ctx.report(fail(Errc::invalid_input, p));
        std::cerr << "postbridge: nothing was changed\n";
        return Exit::usage;
    }
    // Presets must not overwrite values the file sets itself: apply the
    // file's values after the expansion by ordering service keys first.
    std::stable_partition(changes.begin(), changes.end(),
                          [](const auto& c) { return c.first.ends_with(".service"); });
    return apply(ctx, **s, std::move(changes), replace);
}

// The schema as a table: `config keys --markdown` is the README's list of
// keys, so the README never restates the schema by hand.
int keys(Context& ctx, bool markdown) {
    auto row = [&](const st::KeyDef& d) {
        const std::string name = d.scope() == st::Scope::profile ? "PROFILE." + std::string(d.name)
                                                                 : std::string(d.name);
        std::string allowed = d.type == st::Type::choice ? "" : std::string(st::type_name(d.type));
        for (std::size_t i = 0; i < d.choices.size(); ++i)
            allowed += (i ? ", " : "") + std::string(d.choices[i]);
        if (ctx.json) {
            Context::emit({{"key", name},
                           {"type", allowed},
                           {"default", d.default_value},
                           {"label", d.label},
                           {"doc", d.doc}});
        } else if (markdown) {
            std::string doc(d.doc);
            if (!d.label.empty()) doc = "*" + std::string(d.label) + "*: " + doc;
            std::cout << fmt::format(
                "| `{}` | {} | {} | {} |\n", name, allowed,
                d.default_value.empty() ? "" : fmt::format("`{}`", d.default_value), doc);
        } else {
            std::cout << fmt::format(
                "{:<34} {}\n{:<34} {}{}\n", name, d.doc, "", allowed,
                d.default_value.empty() ? "" : fmt::format(" (default {})", d.default_value));
        }
    };
    if (markdown && !ctx.json)
        std::cout << "| key | values | default | meaning |\n|---|---|---|---|\n";
    for (const auto& d : st::schema()) row(d);
    return Exit::ok;
}

}  // namespace

void add_config_commands(CLI::App& app, Context& ctx) {
    auto* config = app.add_subcommand("config", "Show and change settings");
    config->require_subcommand(1);

    config->add_subcommand("show", "Every setting with its value and origin, and warnings")
        ->callback([&ctx] { ctx.exit_status = show(ctx); });

    struct Args {
        std::string key, value, file;
        bool replace = false, with_secrets = false, markdown = false;
    };
    auto a = std::make_shared<Args>();

    auto* keys_cmd =
        config->add_subcommand("keys", "Every key of the schema, with its values and default");
    keys_cmd->add_flag("--markdown", a->markdown, "as a Markdown table (the README's list)");
    keys_cmd->callback([&ctx, a] { ctx.exit_status = keys(ctx, a->markdown); });

    auto* get_cmd = config->add_subcommand("get", "One setting's value");
    get_cmd->add_option("KEY", a->key, "e.g. email.smtp.port")->required();
    get_cmd->callback([&ctx, a] { ctx.exit_status = get(ctx, a->key); });

    auto* set_cmd = config->add_subcommand(
        "set", "Change one setting (VALUE '' unsets it; '-' reads a secret from standard input)");
    set_cmd->add_option("KEY", a->key, "e.g. email.smtp.port")->required();
    set_cmd->add_option("VALUE", a->value, "the new value")->required();
    set_cmd->callback([&ctx, a] { ctx.exit_status = set(ctx, a->key, a->value); });

    auto* imp = config->add_subcommand("import", "Merge settings from a JSON file");
    imp->add_option("FILE", a->file, "a JSON object of key: value")->required();
    imp->add_flag("--replace", a->replace, "replace every setting instead of merging");
    imp->callback([&ctx, a] { ctx.exit_status = do_import(ctx, a->file, a->replace); });

    auto* exp = config->add_subcommand("export", "Every setting as one JSON object");
    exp->add_flag("--with-secrets", a->with_secrets, "include passwords and client secrets");
    exp->callback([&ctx, a] { ctx.exit_status = do_export(ctx, a->with_secrets); });
}

}  // namespace pb::cli
