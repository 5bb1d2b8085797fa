// The HTML of the Email Server page (see email_server_html.hpp). Labels,
// notes and messages are the device manual's, word for word; field labels
// come from the schema (KeyDef::label), so the page, the CLI and the docs
// cannot drift apart.
#include "web/email_server_html.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "web/html.hpp"

namespace pb::web {
namespace {

using namespace std::string_view_literals;

constexpr std::string_view kCertificateNote =
    "The certificate is required to use a secure function of the email server";
constexpr std::string_view kValidationWarning =
    "It is recommended to enable the Certificate Validation. It will be connected without "
    "confirming the safety of the email server when the Certificate Validation is disabled.";
constexpr std::string_view kOneServiceNotice =
    "Any other email services signed in will be signed out automatically";

enum class Input { select, text, password, port, toggle };

struct Field {
    std::string_view key;
    Input input;
    // The Authentication Methods the field belongs to; empty: all of them.
    std::string_view show;
    // For keys the manual has no label for (the schema's label is empty).
    std::string_view label = {};
    // The Email services it belongs to; empty: all of them.
    std::string_view services = {};
};

constexpr std::string_view kMicrosoft = "exchange-online outlook-com";

// In the order of the manual's screenshot; the OAuth client fields last, each
// shown only for the methods and services it applies to.
constexpr std::array kFields = {
    Field{"auth_method", Input::select, ""},
    Field{"service", Input::select, "oauth2"},
    // SMTP, Microsoft Graph or Automatic (SMTP, Graph once SMTP AUTH is off).
    Field{"transport", Input::select, "oauth2", {}, "exchange-online outlook-com custom"},
    Field{"account", Input::text, "smtp-auth pop-before-smtp oauth2"},
    Field{"password", Input::password, "smtp-auth pop-before-smtp"},
    Field{"sender", Input::text, ""},
    Field{"smtp.host", Input::text, ""},
    Field{"smtp.port", Input::port, ""},
    Field{"smtp.security", Input::select, ""},
    Field{"smtp.verify_cert", Input::toggle, ""},
    Field{"pop3.host", Input::text, "pop-before-smtp"},
    Field{"pop3.port", Input::port, "pop-before-smtp"},
    Field{"pop3.security", Input::select, "pop-before-smtp", "POP3 Security"},
    Field{"oauth.grant", Input::select, "oauth2", "Sign-in Method"},
    Field{"oauth.client_id", Input::text, "oauth2", "Client ID"},
    Field{"oauth.client_secret", Input::password, "oauth2", "Client Secret"},
    Field{"oauth.tenant", Input::text, "oauth2", "Tenant", kMicrosoft},
    Field{"oauth.authority", Input::text, "oauth2", "Cloud (Authority)", kMicrosoft},
    Field{"oauth.issuer", Input::text, "oauth2", "Issuer", "custom"},
    Field{"oauth.scopes", Input::text, "oauth2", "Scopes"},
    Field{"oauth.redirect_uri", Input::text, "oauth2", "Redirect URI", "gmail custom"},
    Field{"proxy.url", Input::text, "oauth2", "Proxy Server"},
};

// The setup guide of each service (docs/, at /guide/NAME), beside the
// Email service: how to register the app, which permissions, and how to
// allow SMTP AUTH for the mailbox.
constexpr std::array kGuides = {
    std::pair{"exchange-online"sv, "Microsoft Exchange Online"sv},
    std::pair{"outlook-com"sv, "Outlook.com"sv},
    std::pair{"gmail"sv, "Gmail"sv},
};

// The fields a service preset fills on the page as soon as the service is
// chosen, so that what OK will apply is what the page shows.
constexpr std::array kPresetFields = {"smtp.host"sv,    "smtp.port"sv,    "smtp.security"sv,
                                      "oauth.tenant"sv, "oauth.scopes"sv, "oauth.grant"sv,
                                      "transport"sv};

std::string_view sign_in_button(std::string_view service) {
    if (service == "exchange-online" || service == "outlook-com") return "Sign in with Microsoft";
    if (service == "gmail") return "Sign in with Google";
    return "Sign in with the identity provider";
}

const settings::KeyDef& def(std::string_view key) {
    // Every key of kFields is in the schema: checked by a test, so a renamed
    // key fails there, not on an administrator's screen.
    return *settings::find_def(key, settings::Scope::profile);
}

std::string label_of(const Field& f) {
    const auto& d = def(f.key);
    return std::string(d.label.empty() ? f.label : d.label);
}

std::string dom_id(std::string_view key) {
    std::string id = "f-";
    for (char c : key) id.push_back(c == '.' ? '_' : c);
    return id;
}

bool listed(std::string_view list, std::string_view word) {
    if (list.empty()) return true;
    while (!list.empty()) {
        const auto sp = list.find(' ');
        if (list.substr(0, sp) == word) return true;
        list = sp == std::string_view::npos ? std::string_view{} : list.substr(sp + 1);
    }
    return false;
}

bool shown(const Field& f, std::string_view method, std::string_view service) {
    return listed(f.show, method) && listed(f.services, service);
}

std::string get(const std::map<std::string, std::string, std::less<>>& m, std::string_view k) {
    const auto it = m.find(k);
    return it == m.end() ? std::string() : it->second;
}

// The attributes that let the script show and hide a row, and the `hidden`
// that makes the page right before (and without) any script.
std::string row_attrs(const Field& f, std::string_view method, std::string_view service) {
    std::string a;
    if (!f.show.empty()) a += fmt::format(R"( data-show="{}")", f.show);
    if (!f.services.empty()) a += fmt::format(R"( data-services="{}")", f.services);
    if (!shown(f, method, service)) a += " hidden";
    return a;
}

std::string render_control(const Field& f, const EmailPage& page) {
    const auto& d = def(f.key);
    const std::string id = dom_id(f.key);
    const std::string value = get(page.values, f.key);
    const std::string err_attr =
        page.errors.contains(f.key)
            ? fmt::format(R"( aria-invalid="true" aria-describedby="e-{}")", id)
            : "";
    switch (f.input) {
        case Input::select: {
            std::string opts;
            for (auto choice : d.choices)
                opts += fmt::format(R"(<option value="{}"{}>{}</option>)", escape(choice),
                                    choice == value ? " selected" : "",
                                    escape(choice_label(f.key, choice)));
            return fmt::format(R"(<select id="{}" name="{}"{}>{}</select>)", id, escape(f.key),
                               err_attr, opts);
        }
        case Input::text:
            return fmt::format(
                R"(<input type="text" id="{}" name="{}" value="{}" autocomplete="off"{}>)", id,
                escape(f.key), escape(value), err_attr);
        case Input::port:
            return fmt::format(
                R"(<input type="text" inputmode="numeric" id="{}" name="{}" value="{}" size="6"{}>)",
                id, escape(f.key), escape(value), err_attr);
        case Input::password:
            // The stored password never comes back to the browser: an empty
            // field keeps it.
            return fmt::format(
                R"(<input type="password" id="{}" name="{}" value="" autocomplete="new-password" placeholder="{}"{}>)",
                id, escape(f.key), page.secrets_set.contains(f.key) ? "(unchanged)" : "", err_attr);
        case Input::toggle: {
            const bool on = value != "false";
            return fmt::format(
                R"(<span id="{0}" class="choices"><label><input type="radio" name="{1}" value="true"{2}> Enable</label> <label><input type="radio" name="{1}" value="false"{3}> Disable</label></span><p class="warning">{4}</p>)",
                id, escape(f.key), on ? " checked" : "", on ? "" : " checked", kValidationWarning);
        }
    }
    return {};
}

std::string presets_json() {
    nlohmann::json j = nlohmann::json::object();
    for (auto service : def("service").choices) {
        const auto* p = settings::find_preset(service);
        if (p == nullptr) continue;
        nlohmann::json fields = nlohmann::json::object();
        for (const auto& [k, v] : p->values)
            if (std::ranges::find(kPresetFields, k) != kPresetFields.end())
                fields[std::string(k)] = v;
        j[std::string(service)] = fields;
    }
    return j.dump();
}

// Shown by the script as soon as a field the sign-in belongs to differs from
// its saved value (service/replaced_sign_in.hpp), before OK is pressed.
std::string render_switch_warning(const EmailPage& page) {
    if (page.signin.state == SignInStatus::State::signed_out) return {};
    const std::string who =
        page.signin.account.empty() ? "the current sign-in" : escape(page.signin.account);
    return fmt::format(
        R"(<p class="warning" id="switch-warning" hidden>{}. Pressing OK signs {} out of {} and revokes the sign-in where the provider can.</p>
)",
        kOneServiceNotice, who, escape(choice_label("service", get(page.values, "service"))));
}

std::string render_status_row(const EmailPage& page, std::string_view method) {
    const bool signed_in = page.signin.state == SignInStatus::State::signed_in;
    std::string action;
    if (signed_in) {
        action = R"(<button type="submit" form="signout-form">Sign Out</button>)";
    } else {
        // Part of the settings form: OK's validation and saving happen
        // first, so the sign-in uses what is on the screen.
        action = R"(<button type="submit" name="signin" value="1">Sign In</button>)";
    }
    // Next to the status, what it means for the administrator: a lapse to
    // come, or why the sign-in ended.
    std::string notes;
    if (!page.signin.warning.empty())
        notes += fmt::format(R"( <p class="warning" id="status-warning">{}</p>)",
                             escape(page.signin.warning));
    if ((page.signin.state == SignInStatus::State::expired ||
         page.signin.state == SignInStatus::State::reauth_required) &&
        !page.signin.reason.empty())
        notes += fmt::format(R"( <p class="error" id="status-reason">{}</p>)",
                             escape(page.signin.reason));
    return fmt::format(
        R"(<div class="field" data-show="oauth2"{hidden}><span class="label">Current Status</span><div class="control"><output id="current-status" class="js-status">{status}</output> {action}{notes}</div></div>
<div class="field" id="signed-account-row" data-show="oauth2"{hidden_account}><span class="label">Signed-in Account</span><div class="control"><output id="signin-account">{account}</output></div></div>
)",
        fmt::arg("hidden", method == "oauth2" ? "" : " hidden"),
        fmt::arg("status", status_label(page.signin)), fmt::arg("action", action),
        fmt::arg("notes", notes),
        fmt::arg("hidden_account", method == "oauth2" && signed_in ? "" : " hidden"),
        fmt::arg("account", escape(page.signin.account)));
}

}  // namespace

std::string_view choice_label(std::string_view key, std::string_view value) {
    using P = std::pair<std::string_view, std::string_view>;
    static constexpr std::array kLabels = {
        P{"off", "Off"},
        P{"smtp-auth", "SMTP AUTH"},
        P{"pop-before-smtp", "POP before SMTP"},
        P{"oauth2", "OAuth2"},
        P{"exchange-online", "Microsoft Exchange Online"},
        P{"outlook-com", "Outlook.com"},
        P{"gmail", "Gmail"},
        P{"custom", "Other (OAuth 2.0 / OpenID Connect issuer)"},
        P{"none", "None"},
        P{"ssl-tls", "SSL/TLS"},
        P{"starttls", "STARTTLS"},
        P{"smtp", "SMTP"},
        P{"graph", "Microsoft Graph"},
        P{"auto", "Automatic (SMTP, or Microsoft Graph when SMTP AUTH is off)"},
        P{"device", "Device code (a code shown on this page)"},
        P{"authorization-code", "Authorization code with PKCE (a browser sign-in)"},
        P{"client-credentials", "Client credentials (the app itself, with its secret)"},
    };
    (void)key;
    for (const auto& [v, l] : kLabels)
        if (v == value) return l;
    return value;
}

std::string render_signin_panel(const EmailPage& page, std::string_view service,
                                std::string_view done_text) {
    const auto& s = page.signin;
    const bool pending = s.state == SignInStatus::State::pending;
    std::string body;
    body += fmt::format(R"(<p class="notice">{}</p>)", kOneServiceNotice);
    body += fmt::format(R"(<p>Email service: {}</p>)", escape(choice_label("service", service)));
    body += fmt::format(R"(<p>Current Status: <output class="js-status">{}</output></p>)",
                        status_label(s));
    if (pending && !s.user_code.empty()) {
        const std::string uri = escape(s.verification_uri);
        body += fmt::format(
            R"(<div class="pending-only"><p id="signin-message">To sign in, use a web browser to open the page <a href="{0}" target="_blank" rel="noopener noreferrer">{0}</a> and enter the code <strong id="user-code">{1}</strong> to authenticate.</p>)",
            uri, escape(s.user_code));
        const auto& qr_target =
            s.verification_uri_complete.empty() ? s.verification_uri : s.verification_uri_complete;
        body += qr_svg(qr_target);
        const auto left = std::max(Duration{0}, s.expires_at - page.now);
        body += fmt::format(
            R"(<p>Time left: <span id="time-left" data-expires-in="{}">{}</span></p></div>)",
            std::chrono::duration_cast<std::chrono::seconds>(left).count(), time_left(left));
    } else if (pending && !s.authorize_url.empty()) {
        body += fmt::format(
            R"(<div class="pending-only"><p>Open <a href="{0}" target="_blank" rel="noopener noreferrer">the sign-in page</a> and sign in. The browser then ends on a page that does not load; copy its address from the address bar and paste it here.</p>
<form method="post" action="{1}/signin"><input type="hidden" name="csrf" value="{2}"><input type="hidden" name="profile" value="{3}"><label for="redirect-url">Address the browser ended on</label> <input type="url" id="redirect-url" name="redirect_url" size="60" autocomplete="off" required> <button type="submit" name="action" value="finish">OK</button></form></div>)",
            escape(s.authorize_url), escape(page.base), escape(page.csrf), escape(page.profile));
    } else if (s.state != SignInStatus::State::signed_in) {
        body += fmt::format(
            R"(<form method="post" action="{}/signin"><input type="hidden" name="csrf" value="{}"><input type="hidden" name="profile" value="{}"><button type="submit" name="action" value="start">{}</button></form>)",
            escape(page.base), escape(page.csrf), escape(page.profile), sign_in_button(service));
    }
    if (s.state == SignInStatus::State::signed_in && !done_text.empty())
        body += fmt::format(R"(<p class="done">{}</p>)", escape(done_text));
    else if (s.state == SignInStatus::State::signed_in)
        body += fmt::format(
            R"(<p class="done">Signed in as <strong>{}</strong>. Click OK to apply the settings.</p>)",
            escape(s.account));
    body += fmt::format(R"(<p class="error" id="signin-reason"{}>{}</p>)",
                        s.reason.empty() ? " hidden" : "", escape(s.reason));
    return fmt::format(
        R"(<section id="signin-panel" class="panel" data-profile="{}"{}{}>{}</section>
)",
        escape(page.profile), pending ? R"( data-poll="1")" : "",
        done_text.empty() ? "" : fmt::format(R"( data-done="{}")", escape(done_text)), body);
}

std::string time_left(Duration d) {
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    return fmt::format("{} min {:02} s", secs / 60, secs % 60);
}

std::map<std::string, std::string, std::less<>> email_values(const settings::Settings& s,
                                                             std::string_view profile) {
    std::map<std::string, std::string, std::less<>> v;
    for (const auto& f : kFields)
        if (f.input != Input::password) v.emplace(f.key, s.get(profile, f.key));
    return v;
}

std::string render_email_page(const EmailPage& page) {
    const std::string method = get(page.values, "auth_method");
    const std::string service = get(page.values, "service");
    std::string out;
    out += fmt::format(
        R"(<p class="note">{}. <a href="/network-security/ca-certificate">CA Certificate</a> <a href="/network-security/root-certificate-update">Root Certificate Update</a></p>
<p class="note">Devices that cannot sign in with OAuth 2.0 can send through postbridge's relay: <a href="/guide/relay" target="_blank">the relay guide</a>.</p>
)",
        kCertificateNote);
    if (!page.notice.empty())
        out += fmt::format(R"(<p class="notice" role="status">{}</p>)", escape(page.notice));
    if (!page.problem.empty())
        out += fmt::format(R"(<p class="error" role="alert">{}</p>)", escape(page.problem));
    if (!page.errors.empty())
        out +=
            R"(<p class="error" role="alert">Nothing was changed: correct the fields marked below.</p>)";
    for (const auto& w : page.warnings)
        out += fmt::format(R"(<p class="warning">{}</p>)", escape(w));

    const bool pending = page.signin.state == SignInStatus::State::pending;
    if (method == "oauth2" && (page.signin_panel || pending))
        out += render_signin_panel(page, service);

    out += fmt::format(
        R"(<form method="post" action="{}" id="settings-form" data-presets="{}" novalidate>
<input type="hidden" name="csrf" value="{}">
)",
        escape(page.base), escape(presets_json()), escape(page.csrf));
    for (const auto& f : kFields) {
        const std::string id = dom_id(f.key);
        std::string error;
        if (const auto it = page.errors.find(f.key); it != page.errors.end())
            error = fmt::format(R"(<p class="error" id="e-{}">{}</p>)", id, escape(it->second));
        if (f.input == Input::toggle) {
            out += fmt::format(
                R"(<div class="field"{}><span class="label">{}</span><div class="control">{}{}</div></div>
)",
                row_attrs(f, method, service), escape(label_of(f)), render_control(f, page), error);
        } else {
            out += fmt::format(
                R"(<div class="field"{}><label for="{}">{}</label><div class="control">{}{}</div></div>
)",
                row_attrs(f, method, service), id, escape(label_of(f)), render_control(f, page),
                error);
        }
        if (f.key == "service") {
            for (const auto& [name, title] : kGuides)
                out += fmt::format(
                    R"(<p class="guide-link" data-show="oauth2" data-services="{0}"{1}><a href="/guide/{0}" target="_blank">Setup guide for {2}</a>: registering the app, its permissions, SMTP AUTH for the mailbox.</p>
)",
                    name, method == "oauth2" && service == name ? "" : " hidden", title);
            out += render_switch_warning(page);
            out += render_status_row(page, method);
        }
    }
    out += R"(<div class="buttons"><button type="submit" id="ok">OK</button></div>
</form>
)";
    out += fmt::format(
        R"(<form method="post" action="{}/signin" id="signout-form"><input type="hidden" name="csrf" value="{}"><input type="hidden" name="action" value="signout"></form>
)",
        escape(page.base), escape(page.csrf));
    return out;
}

Submission read_email_form(const settings::Settings& current, std::string_view profile,
                           const Params& form) {
    Submission sub;
    auto submitted = [&](std::string_view key) -> std::optional<std::string> {
        for (const auto& [k, v] : form)
            if (k == key) return v;
        return std::nullopt;
    };
    std::map<std::string, std::string, std::less<>> wanted;  // key -> canonical value ("" = unset)
    for (const auto& f : kFields) {
        auto raw = submitted(f.key);
        if (!raw) continue;  // not on this form: leave the setting alone
        sub.values[std::string(f.key)] = *raw;
        if (f.input == Input::password && raw->empty()) continue;
        const std::string trimmed = [&] {
            const auto b = raw->find_first_not_of(" \t");
            const auto e = raw->find_last_not_of(" \t");
            return b == std::string::npos ? std::string() : raw->substr(b, e - b + 1);
        }();
        if (trimmed.empty()) {
            wanted[std::string(f.key)] = "";
            continue;
        }
        auto key = settings::parse_key(fmt::format("{}.{}", profile, f.key));
        if (!key) {
            sub.errors[std::string(f.key)] = key.error().detail;
            continue;
        }
        auto norm = settings::normalize(*key, trimmed);
        if (!norm) {
            sub.errors[std::string(f.key)] = norm.error().detail;
            continue;
        }
        wanted[std::string(f.key)] = *norm;
    }
    if (!sub.errors.empty()) return sub;

    // A new service brings its preset: the keys off the page always, the
    // server fields unless they were edited along with the service.
    const std::string old_service(settings::to_string(current.profile_config(profile).service));
    if (const auto it = wanted.find("service"); it != wanted.end() && it->second != old_service) {
        if (const auto* preset = settings::find_preset(it->second)) {
            for (const auto& [k, v] : preset->values) {
                const auto w = wanted.find(k);
                const bool edited = w != wanted.end() && w->second != current.get(profile, k);
                if (!edited) wanted[std::string(k)] = std::string(v);
            }
        }
    }

    for (const auto& [k, v] : wanted) {
        const std::string full = fmt::format("{}.{}", profile, k);
        const auto* d = settings::find_def(k, settings::Scope::profile);
        if (d != nullptr && d->type == settings::Type::secret) {
            sub.changes.emplace_back(full, v);  // non-empty: empty passwords were skipped
            continue;
        }
        if (v.empty()) {
            if (current.is_set(full)) sub.changes.emplace_back(full, std::nullopt);
        } else if (v != current.get(profile, k)) {
            sub.changes.emplace_back(full, v);
        }
    }
    return sub;
}

std::string render_test_email_form(std::string_view base, std::string_view csrf,
                                   std::string_view profile) {
    return fmt::format(
        R"(<section class="panel" id="test-email"><h2>Send a test email</h2><form method="post" action="{}/test-email">{}<input type="hidden" name="profile" value="{}"><div class="field"><label for="test-to">To</label><div class="control"><input type="text" id="test-to" name="to" autocomplete="off" required></div></div><div class="buttons"><button type="submit" id="send-test">Send</button></div></form></section>)",
        escape(base), csrf_input(csrf), escape(profile));
}

}  // namespace pb::web
