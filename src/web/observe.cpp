// Probes and figures for the machines that watch serve: /healthz (the
// process answers), /readyz (it can take and keep mail: 503 naming what
// fails), /metrics (Prometheus text, observe/metrics.hpp). None needs the
// administrator's session: a probe has no cookie. /metrics shows no secret,
// but it does show profile names and volumes, so it answers only to
// metrics.allowed_networks (default loopback) or to an API token, read-only
// or not.
#include <fmt/format.h>

#include "relay/networks.hpp"
#include "web/app.hpp"
#include "web/app_internal.hpp"

namespace pb::web {

Response App::healthz(Call&) {
    return Response::text(200, "ok\n");
}

Response App::readyz(Call&) {
    if (options_.operations == nullptr)
        return Response::text(503, "not ready: the service is not running\n");
    std::string failed, body;
    for (const auto& c : options_.operations->readiness()) {
        body += fmt::format("{}: {}\n", c.name, c.problem.empty() ? "ok" : c.problem);
        if (!c.problem.empty()) failed += (failed.empty() ? "" : ", ") + c.name;
    }
    if (!failed.empty()) return Response::text(503, "not ready: " + failed + "\n" + body);
    return Response::text(200, "ready\n" + body);
}

Response App::metrics(Call& call) {
    const auto& req = call.req;
    bool allowed = false;
    if (!req.authorization.empty()) {
        allowed = api_caller(req).has_value();
        if (!allowed) {
            options_.log(fmt::format("web: /metrics: a wrong API token from {}", req.client));
            Response r = Response::text(401, "a wrong API token\n");
            r.set("WWW-Authenticate", R"(Bearer realm="postbridge")");
            return r;
        }
    } else if (auto s = store_.load_settings(); s) {
        // Read at each scrape: `config set metrics.allowed_networks` needs no
        // restart. The value was validated when it was set.
        auto nets = relay::Networks::parse(s->global_config().metrics_allowed_networks);
        allowed = nets && nets->contains(req.client);
    }
    if (!allowed) {
        Response r = Response::text(
            403, fmt::format("/metrics answers to metrics.allowed_networks (not {}) or to an API "
                             "token (postbridge api-token create NAME --read-only)\n",
                             req.client));
        r.set("WWW-Authenticate", R"(Bearer realm="postbridge")");
        return r;
    }
    if (options_.operations == nullptr) return Response::text(503, "the service is not running\n");
    auto text = options_.operations->metrics();
    if (!text) return Response::text(500, text.error().describe() + "\n");
    Response r{200, {}, std::move(*text)};
    r.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return r;
}

}  // namespace pb::web
