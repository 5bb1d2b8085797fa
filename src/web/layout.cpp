// The frame, tab bar and sub-navigation of Web Config's pages (layout.hpp),
// and App's use of them for a logged-in page.
#include "web/layout.hpp"

#include <array>

#include <fmt/format.h>

#include "web/app_internal.hpp"
#include "web/html.hpp"

namespace pb::web {

namespace {

// A link of the tab bar, or one under a tab.
struct Link {
    Tab tab;
    std::string_view label;
    std::string_view href;
};

constexpr std::array kTabs = {
    Link{Tab::network, "Network", "/network/email/basic"},
    Link{Tab::network_security, "Network Security", "/network-security/ca-certificate"},
    Link{Tab::product_security, "Product Security", "/product-security"},
    Link{Tab::device_management, "Device Management", "/device-management"},
    Link{Tab::fax, "Fax", "/fax/email-server"},
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

std::string nav_item(const Link& link, bool current) {
    return fmt::format(R"(<li><a href="{}"{}>{}</a></li>)", link.href,
                       current ? R"( aria-current="page")" : "", link.label);
}

}  // namespace

std::string render_page(const Frame& frame, std::string_view body) {
    std::string tabs;
    // Every tab is always there: the Fax Server page is found before any
    // fax setting exists (it is where they are made).
    for (const auto& t : kTabs) tabs += nav_item(t, t.tab == frame.tab);
    std::string account;
    if (frame.logged_in) {
        account = fmt::format(
            R"(<form method="post" action="/logout" class="account"><input type="hidden" name="csrf" value="{}"><button type="submit">Log out</button></form>)",
            escape(frame.csrf));
    } else {
        account = R"(<a class="account" href="/login">Log in</a>)";
    }
    return fmt::format(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Web Config</title>
<link rel="stylesheet" href="/assets/style.css">
<script src="/assets/app.js" defer></script>
</head>
<body>
<header><span class="product">Web Config</span>{account}</header>
<nav><ul class="tabs">{tabs}</ul></nav>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
)",
                       fmt::arg("title", escape(frame.title)), fmt::arg("account", account),
                       fmt::arg("tabs", tabs), fmt::arg("body", body));
}

std::string render_subnav(Tab tab, std::string_view path) {
    std::string out;
    for (const auto& l : kLinks)
        if (l.tab == tab) out += nav_item(l, l.href == path);
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

bool App::fax_configured() {
    auto s = store_.load_settings();
    if (!s) return false;
    for (const auto& [k, v] : s->values())
        if (k.starts_with("fax.")) return true;
    return store_.has_secret("fax.password");
}

Response App::framed(Call& call, Tab tab, std::string_view title, std::string body, int status) {
    Frame frame{std::string(title), tab, true, call.session->csrf};
    return Response::html(render_page(frame, render_subnav(tab, call.req.path) + body), status);
}

Response App::unavailable(Call& call, Tab tab, std::string_view title) {
    return framed(call, tab, title,
                  R"(<p class="error">This page needs the running service (postbridge serve).</p>)",
                  503);
}

}  // namespace pb::web
