// What is around every page of Web Config: the frame with the manual's tab
// bar and the log in/out control, the links under the current tab, and the
// notice and problem lines. The page's own body goes inside.
#pragma once

#include <string>
#include <string_view>

namespace pb::web {

// The manual's tab bar (Network, Network Security, Product Security, Device
// Management; Fax when that profile is configured).
enum class Tab { network, network_security, product_security, device_management, fax };

struct Frame {
    std::string title;  // the page's own heading, e.g. "Email Server > Basic"
    Tab tab = Tab::network;
    bool logged_in = false;
    std::string csrf;  // for the Log out form
};

// A whole page: head (style and script are files: the CSP forbids inline
// code), tab bar, log in/out, then `body`, which the caller has escaped.
std::string render_page(const Frame& frame, std::string_view body);

// The links under a tab (Network: Basic, Connection Test; ...), the current
// one marked.
std::string render_subnav(Tab tab, std::string_view path);

// A notice and a problem line, both optional.
std::string render_messages(std::string_view notice, std::string_view problem);

}  // namespace pb::web
