// HTML building blocks of Web Config: escaping, the frame with the manual's
// tab bar, and the QR code of a sign-in link. Every value that did not come
// from this source file goes through escape(); the pages never concatenate
// raw input.
#pragma once

#include <string>
#include <string_view>

namespace pb::web {

// Escapes & < > " ' for element content and double- or single-quoted
// attribute values alike.
std::string escape(std::string_view text);

// The manual's tab bar (Network, Network Security, Product Security, Device
// Management; Fax when that profile is configured).
enum class Tab { network, network_security, product_security, device_management, fax };

struct Frame {
    std::string title;  // the page's own heading, e.g. "Email Server > Basic"
    Tab tab = Tab::network;
    bool logged_in = false;
    bool fax = false;  // show the Fax tab
    std::string csrf;  // for the Log out form
};

// A whole page: head (style and script are files: the CSP forbids inline
// code), tab bar, log in/out, then `body`, which the caller has escaped.
std::string render_page(const Frame& frame, std::string_view body);

// An <svg> of the QR code of `text`, black modules on white, with a quiet
// zone; empty when the text does not fit a QR code.
std::string qr_svg(std::string_view text);

}  // namespace pb::web
