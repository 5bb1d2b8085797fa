// The JSON API under /api/v1 (design.md: status, config get/set, sign-in
// start and poll, jobs, job detail, retry, send), for scripts and fleet
// tools.
//
// Authentication: "Authorization: Bearer TOKEN", a token made with
// `postbridge api-token create NAME`. Only its SHA-256 is stored; the hash
// of what was sent is compared with each stored one in constant time. No
// session cookie opens the API, so it needs no CSRF token.
//
// Answers are the objects the CLI prints with --json; a failure is
// {"error": the CLI's message, "code": the job code, "status", "remedy"}
// with 400 for invalid input, so a script sees the same words as a person
// at the command line.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/crypto.hpp"
#include "core/settings.hpp"
#include "web/app.hpp"
#include "web/app_internal.hpp"

namespace pb::web {
namespace {

using nlohmann::json;
namespace st = settings;

int http_status(const Error& e) {
    switch (e.code) {
        case Errc::invalid_input:
        case Errc::identity_provider_config:
            return 400;
        case Errc::not_signed_in:
        case Errc::sign_in_expired:
        case Errc::sign_in_again:
            return 409;
        default:
            return 500;
    }
}

Response error_answer(const Error& e) {
    json j{{"error", e.detail.empty() ? std::string(e.info().status) : e.detail},
           {"code", e.number()},
           {"status", e.info().status},
           {"remedy", e.info().remedy}};
    return Response::json(j.dump(), http_status(e));
}

Response invalid(std::string detail) {
    return error_answer(Error{Errc::invalid_input, std::move(detail)});
}

Response ok(const json& j) {
    return Response::json(j.dump());
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

// A JSON body, or the reason it is not one.
Result<json> body_json(const Request& req) {
    if (req.body.empty()) return json::object();
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        return fail(Errc::invalid_input, "the request body must be a JSON object");
    return j;
}

// A string or a list of strings ("to": "a@x, b@y" or ["a@x", "b@y"]).
Result<std::vector<std::string>> string_list(const json& j, std::string_view key) {
    std::vector<std::string> out;
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return out;
    if (it->is_string()) {
        out.push_back(it->get<std::string>());
        return out;
    }
    if (it->is_array()) {
        for (const auto& v : *it) {
            if (!v.is_string()) break;
            out.push_back(v.get<std::string>());
        }
        if (out.size() == it->size()) return out;
    }
    return fail(Errc::invalid_input,
                fmt::format("{} must be an address or a list of addresses", key));
}

std::optional<std::string> string_field(const json& j, std::string_view key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

}  // namespace

std::optional<App::ApiCaller> App::api_caller(const Request& request) {
    constexpr std::string_view scheme = "Bearer ";
    std::string_view h = request.authorization;
    if (h.size() <= scheme.size() ||
        !std::equal(scheme.begin(), scheme.end(), h.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
        }))
        return std::nullopt;
    h.remove_prefix(scheme.size());
    const std::string sent = sha256_hex(h);
    std::optional<ApiCaller> found;
    // Every stored hash of both kinds is compared, so the time taken says
    // nothing about which one (if any) matched.
    for (const char* kind : {store::kApiTokenKind, store::kReadOnlyApiTokenKind}) {
        auto names = store_.credentials(kind);
        if (!names) continue;
        for (const auto& [name, created] : *names) {
            auto stored = store_.credential(kind, name);
            if (stored && *stored && Secret::equal_constant_time(sent, **stored) && !found)
                found = ApiCaller{name, std::string_view(kind) == store::kReadOnlyApiTokenKind};
        }
    }
    return found;
}

Response App::api(Call& call) {
    const auto& req = call.req;
    const auto caller = api_caller(req);
    if (!caller) {
        if (!req.authorization.empty())
            options_.log(fmt::format("web: API: a wrong token from {}", req.client));
        Response r = Response::json(
            json{{"error",
                  "an API token is required: send Authorization: Bearer TOKEN (make one with "
                  "postbridge api-token create NAME)"}}
                .dump(),
            401);
        r.set("WWW-Authenticate", R"(Bearer realm="postbridge")");
        return r;
    }
    const std::string* who = &caller->name;
    const bool get = req.method == "GET" || req.method == "HEAD";
    const bool post = req.method == "POST";
    std::string_view p = req.path;
    p.remove_prefix(std::string_view("/api/v1").size());
    // A read-only token reads the status and the jobs (and /metrics); the
    // settings may hold what an observer must not see.
    if (caller->read_only && !(get && (p == "/status" || p == "/jobs" ||
                                       (p.starts_with("/jobs/") && !p.ends_with("/retry"))))) {
        options_.log(fmt::format("web: API: read-only token '{}' refused {} {}", *who, req.method,
                                 req.path));
        return Response::json(
            json{{"error", fmt::format("the API token '{}' is read-only: it may GET /status and "
                                       "/jobs only (an administrator token: postbridge api-token "
                                       "create NAME)",
                                       *who)}}
                .dump(),
            403);
    }

    if (p == "/config" && get) return api_config_get(call, "");
    if (p.starts_with("/config/") && get) return api_config_get(call, p.substr(8));
    if (p == "/config" && post) return api_config_set(call);
    if (p == "/signin" && post) return api_signin_start(call);
    if (p == "/signin" && get) return api_signin_poll(call);

    Operations* ops = options_.operations;
    if (ops == nullptr)
        return Response::json(json{{"error", "the service is not running"}}.dump(), 503);
    if (p == "/status" && get) {
        const auto profile = req.param("profile");
        auto r = ops->status(profile);
        if (!r) return error_answer(r.error());
        // A sign-in started here or on the page is pending until it ends.
        for (auto& prof : (*r)["profiles"]) {
            const auto s = signin_.status(prof["name"].get<std::string>());
            if (s.state == SignInStatus::State::pending) prof["status"] = "pending";
        }
        return ok(*r);
    }
    if (p == "/jobs" && get) {
        std::int64_t limit = 50;
        if (const auto l = req.param("limit")) {
            const auto v = parse_int(*l);
            if (!v || *v < 1 || *v > 1000)
                return invalid(fmt::format("limit: '{}' is not a number from 1 to 1000", *l));
            limit = *v;
        }
        auto r = ops->jobs(static_cast<std::size_t>(limit));
        if (!r) return error_answer(r.error());
        return ok(json{{"jobs", *r}});
    }
    if (p.starts_with("/jobs/")) {
        std::string_view rest = p.substr(6);
        const bool retry = rest.ends_with("/retry");
        if (retry) rest.remove_suffix(6);
        const auto id = parse_int(rest);
        if (!id || *id <= 0) return invalid(fmt::format("'{}' is not a job number", rest));
        if (retry && post) {
            auto r = ops->retry(*id);
            if (!r) return error_answer(r.error());
            options_.log(fmt::format("web: API ({}): job {} retried", *who, *id));
            return ok(*r);
        }
        if (!retry && get) {
            auto r = ops->job(*id);
            if (!r) return error_answer(r.error());
            if (!*r) {
                Response nf = error_answer(
                    Error{Errc::invalid_input, fmt::format("there is no job {}", *id)});
                nf.status = 404;
                return nf;
            }
            return ok(**r);
        }
    }
    if (p == "/send" && post) return api_send(call);
    return Response::json(json{{"error", "no such API call"}}.dump(), get || post ? 404 : 405);
}

Response App::api_config_get(Call&, std::string_view key) {
    auto cfg = store_.load_settings();
    if (!cfg) return error_answer(cfg.error());
    if (!key.empty()) {
        auto k = st::parse_key(key);
        if (!k) return error_answer(k.error());
        const bool secret = k->def->type == st::Type::secret;
        const std::string v = secret ? (store_.has_secret(k->full()) ? "(set)" : "(not set)")
                                     : cfg->get(k->profile, k->def->name);
        return ok(json{
            {"key", k->full()}, {"value", v}, {"origin", cfg->origin(k->profile, k->def->name)}});
    }
    // `config export` without secrets.
    auto users = store_.users();
    if (!users) return error_answer(users.error());
    std::vector<std::string> names;
    for (const auto& u : *users) names.push_back(u.name);
    json j = json::object();
    for (const auto& d : st::schema())
        if (d.scope() == st::Scope::global && d.type != st::Type::secret)
            j[std::string(d.name)] = cfg->get("", d.name);
    for (const auto& profile : st::profiles(names))
        for (const auto& d : st::schema())
            if (d.scope() == st::Scope::profile && d.type != st::Type::secret)
                j[st::Key{profile, &d}.full()] = cfg->get(profile, d.name);
    return ok(j);
}

Response App::api_config_set(Call& call) {
    // {"key": K, "value": V} or {"changes": {K: V, ...}}; a null value
    // unsets. Every value is checked first, as `config set` does: one
    // invalid value changes nothing.
    auto body = body_json(call.req);
    if (!body) return error_answer(body.error());
    std::vector<std::pair<std::string, std::optional<std::string>>> wanted;
    auto add = [&](const std::string& k, const json& v) -> bool {
        if (v.is_null())
            wanted.emplace_back(k, std::nullopt);
        else if (v.is_string())
            wanted.emplace_back(k, v.get<std::string>());
        else if (v.is_number_integer() || v.is_boolean())
            wanted.emplace_back(k, v.dump());
        else
            return false;
        return true;
    };
    if (const auto key = string_field(*body, "key")) {
        if (!body->contains("value")) return invalid("give the value to set (null unsets the key)");
        if (!add(*key, (*body)["value"]))
            return invalid(fmt::format("{}: the value must be a string", *key));
    } else if (const auto c = body->find("changes"); c != body->end() && c->is_object()) {
        for (const auto& [name, v] : c->items())
            if (!add(name, v)) return invalid(fmt::format("{}: the value must be a string", name));
    } else {
        return invalid(R"(give {"key": KEY, "value": VALUE} or {"changes": {KEY: VALUE, ...}})");
    }
    auto checked = store_.check_changes(wanted);
    if (!checked) return error_answer(checked.error());
    const auto& expanded = checked->changes;
    const auto& problems = checked->problems;
    if (!problems.empty()) {
        json j{{"error", problems.front()},
               {"errors", problems},
               {"code", static_cast<int>(Errc::invalid_input)},
               {"status", info(Errc::invalid_input).status},
               {"remedy", info(Errc::invalid_input).remedy},
               {"changed", json::array()}};
        return Response::json(j.dump(), 400);
    }
    auto before = store_.load_settings();
    if (!before) return error_answer(before.error());
    auto applied = store_.apply_changes(expanded);
    if (!applied) return error_answer(applied.error());
    json changed = json::array();
    for (const auto& c : *applied) changed.push_back({{"key", c.key}, {"value", c.new_value}});
    options_.log(fmt::format("web: API: {} setting(s) changed", changed.size()));
    // One service at a time: a sign-in of the old settings ends.
    json signed_out = json::array();
    if (!applied->empty())
        for (const auto& said : signin_.end_replaced(*before)) signed_out.push_back(said);
    return ok(json{{"changed", changed}, {"signed_out", signed_out}});
}

Response App::api_signin_start(Call& call) {
    auto body = body_json(call.req);
    if (!body) return error_answer(body.error());
    const std::string profile = string_field(*body, "profile").value_or("email");
    if (profile != "email" && profile != "fax" && !user_exists(profile))
        return invalid(fmt::format(
            "no profile {}: use email, fax or user:NAME of a registered user", profile));
    auto r = signin_.start(profile);
    if (!r) {
        const Error& e = r.error();
        json j{{"event", "failed"},
               {"profile", profile},
               {"code", e.number()},
               {"error", e.detail.empty() ? std::string(e.info().status) : e.detail},
               {"reason", e.detail.empty() ? std::string(e.info().status) : e.detail}};
        return Response::json(j.dump(), http_status(e));
    }
    options_.log(fmt::format("web: API: sign-in of {} started", profile));
    if (!r->authorize_url.empty())
        return ok(
            json{{"event", "authorize_url"}, {"profile", profile}, {"url", r->authorize_url}});
    const auto left =
        std::chrono::duration_cast<std::chrono::seconds>(r->expires_at - clock_.now()).count();
    return ok(json{{"event", "device_code"},
                   {"profile", profile},
                   {"user_code", r->user_code},
                   {"verification_uri", r->verification_uri},
                   {"expires_in", std::max<std::int64_t>(0, left)},
                   {"message", fmt::format("To sign in, use a web browser to open the page {} and "
                                           "enter the code {} to authenticate.",
                                           r->verification_uri, r->user_code)}});
}

Response App::api_signin_poll(Call& call) {
    const std::string profile = call.req.param("profile").value_or("email");
    if (profile != "email" && profile != "fax" && !user_exists(profile))
        return invalid(fmt::format(
            "no profile {}: use email, fax or user:NAME of a registered user", profile));
    const auto s = signin_.status(profile);
    json j{{"profile", profile}, {"status", to_string(s.state)}};
    if (!s.account.empty()) j["account"] = s.account;
    if (!s.reason.empty()) j["reason"] = s.reason;
    if (s.state == SignInStatus::State::pending && !s.user_code.empty()) {
        j["user_code"] = s.user_code;
        j["verification_uri"] = s.verification_uri;
    }
    return ok(j);
}

Response App::api_send(Call& call) {
    auto body = body_json(call.req);
    if (!body) return error_answer(body.error());
    SendRequest req;
    req.profile = string_field(*body, "profile").value_or("email");
    using Field = std::pair<std::string_view, std::vector<std::string>*>;
    for (auto [key, out] : {Field{"to", &req.to}, Field{"cc", &req.cc}, Field{"bcc", &req.bcc}}) {
        auto list = string_list(*body, key);
        if (!list) return error_answer(list.error());
        *out = std::move(*list);
    }
    // The same required fields as `postbridge send`.
    if (req.to.empty()) return invalid("--to is required");
    const auto subject = string_field(*body, "subject");
    if (!subject) return invalid("--subject is required");
    req.subject = *subject;
    req.body = string_field(*body, "body").value_or("");
    auto r = options_.operations->send(req);
    if (!r) return error_answer(r.error());
    options_.log(fmt::format("web: API: job {} accepted", (*r)["job"].dump()));
    return Response::json(r->dump(), 202);
}

}  // namespace pb::web
