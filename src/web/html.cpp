// Escaping, the page frame and QR codes (see html.hpp).
#include "web/html.hpp"

#include <qrencode.h>

#include <array>
#include <memory>

#include <fmt/format.h>

namespace pb::web {

std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    }
    return out;
}

namespace {

struct TabDef {
    Tab tab;
    std::string_view label;
    std::string_view href;
};

constexpr std::array kTabs = {
    TabDef{Tab::network, "Network", "/network/email/basic"},
    TabDef{Tab::network_security, "Network Security", "/network-security/ca-certificate"},
    TabDef{Tab::product_security, "Product Security", "/product-security"},
    TabDef{Tab::device_management, "Device Management", "/device-management"},
    TabDef{Tab::fax, "Fax", "/fax/email-server"},
};

}  // namespace

std::string render_page(const Frame& frame, std::string_view body) {
    std::string tabs;
    for (const auto& t : kTabs) {
        if (t.tab == Tab::fax && !frame.fax) continue;
        tabs += fmt::format(R"(<li><a href="{}"{}>{}</a></li>)", t.href,
                            t.tab == frame.tab ? R"( aria-current="page")" : "", t.label);
    }
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

std::string qr_svg(std::string_view text) {
    const std::string z(text);
    std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
        QRcode_encodeString8bit(z.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
    if (!qr) return {};
    const int n = qr->width;
    constexpr int quiet = 4;  // ISO/IEC 18004: four modules of margin
    std::string path;
    for (int y = 0; y < n; ++y) {
        for (int x = 0; x < n; ++x) {
            // Bit 0 of each byte is the module's colour (1 = dark).
            if ((qr->data[y * n + x] & 1) != 0)
                path += fmt::format("M{},{}h1v1h-1z", x + quiet, y + quiet);
        }
    }
    const int size = n + 2 * quiet;
    return fmt::format(
        R"(<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 {0} {0}" width="{1}" height="{1}" role="img" aria-label="QR code of the sign-in page" shape-rendering="crispEdges"><rect width="{0}" height="{0}" fill="#fff"/><path d="{2}" fill="#000"/></svg>)",
        size, size * 4, path);
}

}  // namespace pb::web
