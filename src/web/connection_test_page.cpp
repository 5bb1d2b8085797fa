// Network > Email Server > Connection Test: connects to the SMTP server with
// a profile's saved settings, secures the connection, greets it and signs
// in, sending no mail. The test runs in the service beside the pages; the
// page starts it and shows its steps when the result is in. The result is
// the JSON the CLI prints, so the page shows the same fields with the same
// words.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "web/app.hpp"
#include "web/app_internal.hpp"
#include "web/html.hpp"
#include "web/layout.hpp"

namespace pb::web {
namespace {

constexpr std::string_view kTestPath = "/network/email/connection-test";

struct ConnectionTestPage {
    std::string csrf;
    std::string profile;                   // chosen
    std::vector<std::string> profiles;     // to choose from
    std::optional<nlohmann::json> result;  // service::connection_test_json
    std::string problem;                   // the test could not start
    bool running = false;                  // started, no result yet: the page reloads
};

// The connection test's steps (smtp::test_connection's names), for people.
std::string_view step_label(std::string_view step) {
    if (step == "connect") return "Connect to the server";
    if (step == "tls") return "Secure connection";
    if (step == "ehlo") return "Greeting (EHLO)";
    if (step == "auth") return "Authentication";
    return step;
}

std::string render_connection_test_page(const ConnectionTestPage& page) {
    std::string out =
        "<p>Connects to the SMTP server with the saved settings, secures the connection, "
        "greets it and signs in. No mail is sent.</p>";
    std::string options;
    for (const auto& p : page.profiles)
        options += fmt::format(R"(<option value="{0}"{1}>{0}</option>)", escape(p),
                               p == page.profile ? " selected" : "");
    out += fmt::format(
        R"(<form method="post" action="/network/email/connection-test">{}<div class="field"><label for="profile">Email server settings</label><div class="control"><select id="profile" name="profile">{}</select></div></div><div class="buttons"><button type="submit" id="run-test">Start</button></div></form>)",
        csrf_input(page.csrf), options);
    out += render_messages("", page.problem);
    if (page.running)
        out += fmt::format(
            R"(<p class="note" id="test-running" data-refresh="1">Testing the connection with the settings of {}. The result shows here when the server has answered.</p>)",
            escape(page.profile));
    if (!page.result) return out;
    const auto& r = *page.result;
    const bool ok = r.value("ok", false);
    const std::string code = json_text(r, "code");
    out +=
        R"(<table id="test-steps"><thead><tr><th>Step</th><th>Result</th><th>Code</th><th>Detail</th></tr></thead><tbody>)";
    if (const auto steps = r.find("steps"); steps != r.end()) {
        for (const auto& s : *steps) {
            const bool step_ok = s.value("ok", false);
            out += fmt::format(
                R"(<tr data-step="{}"><td>{}</td><td class="{}">{}</td><td>{}</td><td>{}</td></tr>)",
                escape(json_text(s, "step")), escape(step_label(json_text(s, "step"))),
                step_ok ? "ok" : "failed", step_ok ? "OK" : "Failed", step_ok ? "" : escape(code),
                escape(json_text(s, "detail")));
        }
    }
    out += "</tbody></table>";
    if (const auto c = r.find("certificate"); c != r.end())
        out += fmt::format(
            R"(<p class="certificate">Server certificate: {}<br>Issuer: {}<br>Valid: {} to {}{}</p>)",
            escape(json_text(*c, "subject")), escape(json_text(*c, "issuer")),
            escape(json_text(*c, "not_before")), escape(json_text(*c, "not_after")),
            c->value("verified", false) ? ""
                                        : "<br>Not verified (Certificate Validation is disabled)");
    if (ok)
        out +=
            R"(<p class="ok" id="test-result">The connection test succeeded. No mail was sent.</p>)";
    else
        out += fmt::format(
            R"(<div id="test-result" class="failed"><p>Code <span id="test-code">{}</span>: {}</p><p>{}</p><p>What to do: {}</p></div>)",
            escape(code), escape(json_text(r, "status")), escape(json_text(r, "error")),
            escape(json_text(r, "remedy")));
    return out;
}

}  // namespace

Response App::connection_test(Call& call) {
    constexpr std::string_view title = "Network > Email Server > Connection Test";
    constexpr Tab tab = Tab::network;
    ConnectionTestPage page;
    page.csrf = call.session->csrf;
    page.profile = "email";
    page.profiles = {"email"};
    if (fax_configured()) page.profiles.emplace_back("fax");
    if (auto users = store_.users())
        for (const auto& u : *users) page.profiles.push_back("user:" + u.name);
    // POST starts the test and sends the browser to the page that waits for
    // it (303): the test runs beside the pages, never in their way.
    const bool post = call.post();
    if (post && !call.csrf_ok()) return forbidden(kExpiredForm);
    if (post && options_.operations == nullptr) return unavailable(call, tab, title);
    page.profile = (post ? call.req.form("profile") : call.req.param("profile")).value_or("email");
    if (std::find(page.profiles.begin(), page.profiles.end(), page.profile) ==
        page.profiles.end()) {
        const Error e = fail(Errc::invalid_input, "no profile " + page.profile);
        page.problem = fmt::format("Code {}: {}", e.number(), message_of(e));
        page.profile = "email";
        return framed(call, tab, title, render_connection_test_page(page));
    }
    if (post) {
        options_.operations->start_connection_test(page.profile);
        options_.log(fmt::format("web: connection test of {} started", page.profile));
        return Response::redirect(
            fmt::format("{}?profile={}", kTestPath, url_encode(page.profile)));
    }
    if (options_.operations != nullptr) {
        if (auto r = options_.operations->take_connection_test(page.profile)) {
            if (*r) {
                page.result = std::move(**r);
                options_.log(fmt::format("web: connection test of {}: {}", page.profile,
                                         page.result->value("ok", false) ? "ok" : "failed"));
            } else {
                page.problem =
                    fmt::format("Code {}: {}", r->error().number(), message_of(r->error()));
            }
        } else {
            page.running = options_.operations->connection_test_running(page.profile);
        }
    }
    return framed(call, tab, title, render_connection_test_page(page));
}

}  // namespace pb::web
