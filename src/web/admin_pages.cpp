// HTML of Web Config's part-2 pages (admin_pages.hpp).
#include "web/admin_pages.hpp"

#include <array>

#include <fmt/format.h>

#include "web/http.hpp"

namespace pb::web {
namespace {

struct Link {
    Tab tab;
    std::string_view label;
    std::string_view href;
};

constexpr std::array kLinks = {
    Link{Tab::network, "Email Server > Basic", "/network/email/basic"},
    Link{Tab::network, "Email Server > Connection Test", "/network/email/connection-test"},
    Link{Tab::network_security, "CA Certificate", "/network-security/ca-certificate"},
    Link{Tab::network_security, "Root Certificate Update",
         "/network-security/root-certificate-update"},
    Link{Tab::product_security, "Change Administrator Password", "/product-security"},
    Link{Tab::device_management, "Job Status", "/device-management/jobs"},
    Link{Tab::device_management, "Users (Scan to My Email)", "/device-management/users"},
    Link{Tab::device_management, "Status Sheet", "/device-management/status-sheet"},
    Link{Tab::device_management, "Email Server Status", "/device-management/email-server-status"},
    Link{Tab::fax, "Fax Server > Email Server Settings", "/fax/email-server"},
};

std::string str(const nlohmann::json& j, std::string_view key) {
    const auto it = j.find(key);
    if (it == j.end() || it->is_null()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string csrf_input(std::string_view csrf) {
    return fmt::format(R"(<input type="hidden" name="csrf" value="{}">)", escape(csrf));
}

std::string state_label(std::string_view state) {
    if (state == "queued") return "Queued";
    if (state == "sending") return "Sending";
    if (state == "held") return "Held (waiting for sign-in)";
    if (state == "sent") return "Sent";
    if (state == "partial") return "Partly sent";
    if (state == "failed") return "Failed";
    return std::string(state);
}

// The connection test's steps (smtp::test_connection's names), for people.
std::string_view step_label(std::string_view step) {
    if (step == "connect") return "Connect to the server";
    if (step == "tls") return "Secure connection";
    if (step == "ehlo") return "Greeting (EHLO)";
    if (step == "auth") return "Authentication";
    return step;
}

}  // namespace

std::string render_subnav(Tab tab, std::string_view path, bool fax) {
    std::string out;
    for (const auto& l : kLinks) {
        if (l.tab != tab) continue;
        if (l.tab == Tab::fax && !fax) continue;
        out += fmt::format(R"(<li><a href="{}"{}>{}</a></li>)", l.href,
                           l.href == path ? R"( aria-current="page")" : "", l.label);
    }
    return out.empty() ? out : fmt::format(R"(<ul class="subnav">{}</ul>)", out);
}

std::string render_messages(std::string_view notice, std::string_view problem) {
    std::string out;
    if (!notice.empty())
        out += fmt::format(R"(<p class="notice" role="status">{}</p>)", escape(notice));
    if (!problem.empty())
        out += fmt::format(R"(<p class="error" role="alert">{}</p>)", escape(problem));
    return out;
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
    const std::string code = str(r, "code");
    out +=
        R"(<table id="test-steps"><thead><tr><th>Step</th><th>Result</th><th>Code</th><th>Detail</th></tr></thead><tbody>)";
    if (const auto steps = r.find("steps"); steps != r.end()) {
        for (const auto& s : *steps) {
            const bool step_ok = s.value("ok", false);
            out += fmt::format(
                R"(<tr data-step="{}"><td>{}</td><td class="{}">{}</td><td>{}</td><td>{}</td></tr>)",
                escape(str(s, "step")), escape(step_label(str(s, "step"))),
                step_ok ? "ok" : "failed", step_ok ? "OK" : "Failed", step_ok ? "" : escape(code),
                escape(str(s, "detail")));
        }
    }
    out += "</tbody></table>";
    if (const auto c = r.find("certificate"); c != r.end())
        out += fmt::format(
            R"(<p class="certificate">Server certificate: {}<br>Issuer: {}<br>Valid: {} to {}{}</p>)",
            escape(str(*c, "subject")), escape(str(*c, "issuer")), escape(str(*c, "not_before")),
            escape(str(*c, "not_after")),
            c->value("verified", false) ? ""
                                        : "<br>Not verified (Certificate Validation is disabled)");
    if (ok)
        out +=
            R"(<p class="ok" id="test-result">The connection test succeeded. No mail was sent.</p>)";
    else
        out += fmt::format(
            R"(<div id="test-result" class="failed"><p>Code <span id="test-code">{}</span>: {}</p><p>{}</p><p>What to do: {}</p></div>)",
            escape(code), escape(str(r, "status")), escape(str(r, "error")),
            escape(str(r, "remedy")));
    return out;
}

std::string render_ca_page(const std::vector<store::CaCert>& certs, std::string_view csrf,
                           std::string_view notice, std::string_view problem) {
    std::string out = render_messages(notice, problem);
    out +=
        "<p>CA certificates trusted for the email server and the identity provider, besides "
        "the system's root certificates.</p>";
    out += fmt::format(
        R"(<form method="post" action="/network-security/ca-certificate/import" enctype="multipart/form-data" class="no-print">{}<div class="field"><label for="ca-file">Certificate (PEM or DER)</label><div class="control"><input type="file" id="ca-file" name="certificate" required></div></div><div class="buttons"><button type="submit" id="import">Import</button></div></form>)",
        csrf_input(csrf));
    if (certs.empty()) return out + R"(<p id="no-ca">No CA certificate has been imported.</p>)";
    out +=
        R"(<table id="ca-list"><thead><tr><th>Subject</th><th>Issuer</th><th>Valid from</th><th>Valid to</th><th>ID</th><th></th></tr></thead><tbody>)";
    for (const auto& c : certs)
        out += fmt::format(
            R"(<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td><form method="post" action="/network-security/ca-certificate/remove" class="inline">{}<input type="hidden" name="id" value="{}"><button type="submit">Remove</button></form></td></tr>)",
            escape(c.subject), escape(c.issuer), escape(c.not_before), escape(c.not_after),
            escape(c.id), csrf_input(csrf), escape(c.id));
    return out + "</tbody></table>";
}

std::string render_root_update_page(std::size_t imported, std::string_view csrf,
                                    std::string_view notice, std::string_view problem) {
    std::string out = render_messages(notice, problem);
    out += fmt::format(
        R"(<p>Servers are checked against the system's root certificates, which the operating system's updates keep current, and against the {} CA certificate(s) imported on the <a href="/network-security/ca-certificate">CA Certificate</a> page. Update shows what the system trusts now; new connections use it, and imported certificates are used within seconds.</p>)",
        imported);
    out += fmt::format(
        R"(<form method="post" action="/network-security/root-certificate-update">{}<div class="buttons"><button type="submit" id="update">Update</button></div></form>)",
        csrf_input(csrf));
    return out;
}

std::string render_jobs_page(const std::vector<nlohmann::json>& jobs,
                             std::optional<std::size_t> more) {
    if (jobs.empty()) return R"(<p id="no-jobs">No job yet.</p>)";
    bool busy = false;
    std::string rows;
    for (const auto& j : jobs) {
        const std::string id = str(j, "job");
        const std::string state = str(j, "state");
        busy = busy || state == "queued" || state == "sending";
        rows += fmt::format(
            R"(<tr data-job="{0}" data-state="{1}"><td><a href="/device-management/jobs/{0}">{0}</a></td><td>{2}</td><td class="state">{3}</td><td class="code">{4}</td><td class="status">{5}</td><td class="remedy">{6}</td><td>{7}</td><td>{8}</td></tr>)",
            escape(id), escape(state), escape(str(j, "created_at")), escape(state_label(state)),
            escape(str(j, "code")), escape(str(j, "status")), escape(str(j, "remedy")),
            escape(str(j, "profile")), escape(str(j, "subject")));
    }
    std::string out = fmt::format(
        R"(<table id="jobs"{}><thead><tr><th>Job</th><th>Accepted</th><th>State</th><th>Code</th><th>Status</th><th>What to do</th><th>Settings</th><th>Subject</th></tr></thead><tbody>{}</tbody></table>)",
        busy ? R"( data-refresh="2")" : "", rows);
    if (more)
        out += fmt::format(
            R"(<p class="no-print"><a id="older-jobs" href="/device-management/jobs?limit={}">Show older jobs</a></p>)",
            *more);
    return out;
}

std::string render_job_page(const nlohmann::json& j, std::string_view csrf, std::string_view notice,
                            std::string_view problem) {
    const std::string id = str(j, "job");
    const std::string state = str(j, "state");
    std::string out = render_messages(notice, problem);
    out += R"(<p class="no-print"><a href="/device-management/jobs">Back to Job Status</a></p>)";
    out += fmt::format(R"(<table id="job" class="sheet"{}><tbody>)",
                       state == "queued" || state == "sending" ? R"( data-refresh="2")" : "");
    const std::array<std::pair<std::string_view, std::string>, 11> rows = {{
        {"Job", id},
        {"State", state_label(state)},
        {"Code", str(j, "code")},
        {"Status", str(j, "status")},
        {"What to do", str(j, "remedy")},
        {"Detail", str(j, "detail")},
        {"Settings", str(j, "profile")},
        {"Function", str(j, "function")},
        {"Sender", str(j, "sender")},
        {"Subject", str(j, "subject")},
        {"Attempts", str(j, "attempts")},
    }};
    for (const auto& [label, value] : rows)
        out += fmt::format(R"(<tr><th scope="row">{}</th><td data-field="{}">{}</td></tr>)", label,
                           label, value.empty() ? "-" : escape(value));
    out += fmt::format(R"(<tr><th scope="row">Accepted</th><td>{}</td></tr>)",
                       escape(str(j, "created_at")));
    if (j.value("maybe_duplicate", false))
        out +=
            R"(<tr><th scope="row">Note</th><td>An attempt broke off at the end of the data: a resend may have duplicated the message.</td></tr>)";
    out += "</tbody></table>";
    out +=
        R"(<h2>Recipients</h2><table id="recipients"><thead><tr><th>Address</th><th>Result</th><th>Code</th><th>Server reply</th></tr></thead><tbody>)";
    if (const auto rs = j.find("recipients"); rs != j.end())
        for (const auto& r : *rs)
            out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                               escape(str(r, "address")), escape(str(r, "result")),
                               escape(str(r, "code")), escape(str(r, "reply")));
    out += "</tbody></table>";
    if (const std::string t = str(j, "transcript"); !t.empty())
        out += fmt::format(
            R"(<h2>Transcript of the last failed attempt</h2><pre class="transcript" id="transcript">{}</pre>)",
            escape(t));
    if (state == "failed" || state == "partial" || state == "held" || state == "queued")
        out += fmt::format(
            R"(<form method="post" action="/device-management/jobs/{}/retry" class="no-print">{}<div class="buttons"><button type="submit" id="retry">Retry</button></div></form>)",
            escape(id), csrf_input(csrf));
    return out;
}

bool consent_missing(std::string_view reason) {
    return reason.find("onsent") != std::string_view::npos ||
           reason.find("AADSTS65001") != std::string_view::npos;
}

std::string render_users_page(const UsersPage& page) {
    std::string out = render_messages(page.notice, page.problem);
    out +=
        R"(<p class="note" id="consent-note">Scan to My Email sends from each user's own address, so each user signs in with their own account. Before the first user can, an administrator of the organization signs in once with an account that has the global administrator role and ticks <strong>Consent on behalf of your organization</strong> to approve the permission request. After that, every registered user signs in on their own.</p>)";
    bool consent = false;
    for (const auto& r : page.users) consent = consent || consent_missing(r.signin.reason);
    if (consent)
        out +=
            R"(<p class="error" id="consent-missing" role="alert">The organization has not consented to postbridge yet: an administrator with the global administrator role must sign in first and tick "Consent on behalf of your organization", then the user signs in again.</p>)";
    if (!page.panel.empty())
        out += fmt::format(R"(<h2>Sign in: {}</h2>)", escape(page.active)) + page.panel;
    if (page.users.empty()) {
        out += R"(<p id="no-users">No user is registered.</p>)";
    } else {
        out +=
            R"(<table id="users"><thead><tr><th>User</th><th>Email address</th><th>Current Status</th><th>Account</th><th></th></tr></thead><tbody>)";
        for (const auto& r : page.users) {
            const bool in = r.signin.state == SignInStatus::State::signed_in;
            const std::string profile = "user:" + r.user.name;
            std::string actions = fmt::format(
                R"(<form method="post" action="/device-management/users/signin" class="inline">{}<input type="hidden" name="profile" value="{}"><button type="submit" name="action" value="{}">{}</button></form> <form method="post" action="/device-management/users/remove" class="inline">{}<input type="hidden" name="name" value="{}"><button type="submit">Remove</button></form>)",
                csrf_input(page.csrf), escape(profile), in ? "signout" : "start",
                in ? "Sign Out" : "Sign In", csrf_input(page.csrf), escape(r.user.name));
            out += fmt::format(
                R"(<tr data-user="{}"><td>{}</td><td>{}</td><td class="status{}">{}</td><td>{}</td><td>{}</td></tr>)",
                escape(r.user.name), escape(r.user.name), escape(r.user.email),
                // The open panel's poll updates this cell too.
                r.user.name == page.active ? " js-status" : "", status_label(r.signin.state),
                escape(r.signin.account), actions);
            if (!r.signin.reason.empty() && r.user.name != page.active)
                out += fmt::format(R"(<tr><td></td><td colspan="4" class="error">{}</td></tr>)",
                                   escape(r.signin.reason));
        }
        out += "</tbody></table>";
    }
    out += fmt::format(
        R"(<h2>Register a user</h2><form method="post" action="/device-management/users/add">{}<div class="field"><label for="user-name">User name</label><div class="control"><input type="text" id="user-name" name="name" value="{}" autocomplete="off" required></div></div><div class="field"><label for="user-email">Email address</label><div class="control"><input type="text" id="user-email" name="email" value="{}" autocomplete="off" required></div></div><div class="buttons"><button type="submit" id="add-user">Add</button></div></form>)",
        csrf_input(page.csrf), escape(page.name), escape(page.email));
    return out;
}

std::string render_status_sheet_page(const StatusSheet& sheet, bool email_only) {
    return R"(<div class="buttons no-print"><button type="button" id="print" hidden>Print</button></div>)" +
           render_status_sheet_html(sheet, email_only);
}

std::string render_product_security_page(std::string_view csrf, std::string_view notice,
                                         std::string_view problem) {
    return render_messages(notice, problem) +
           fmt::format(
               R"(<h2>Change Administrator Password</h2><form method="post" action="/product-security">{}<div class="field"><label for="current-password">Current password</label><div class="control"><input type="password" id="current-password" name="current" autocomplete="current-password" required></div></div><div class="field"><label for="new-password">New password</label><div class="control"><input type="password" id="new-password" name="new" autocomplete="new-password" required></div></div><div class="field"><label for="confirm-password">Confirm new password</label><div class="control"><input type="password" id="confirm-password" name="confirm" autocomplete="new-password" required></div></div><div class="buttons"><button type="submit" id="ok">OK</button></div></form>)",
               csrf_input(csrf));
}

std::string render_test_email_form(std::string_view base, std::string_view csrf,
                                   std::string_view profile) {
    return fmt::format(
        R"(<section class="panel" id="test-email"><h2>Send a test email</h2><form method="post" action="{}/test-email">{}<input type="hidden" name="profile" value="{}"><div class="field"><label for="test-to">To</label><div class="control"><input type="text" id="test-to" name="to" autocomplete="off" required></div></div><div class="buttons"><button type="submit" id="send-test">Send</button></div></form></section>)",
        escape(base), csrf_input(csrf), escape(profile));
}

}  // namespace pb::web
