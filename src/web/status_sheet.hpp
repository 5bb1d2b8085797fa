// The network status sheet (the manual's "Print Status Sheet") and Email
// Server Status: the same rows for the web page, its print view and
// `postbridge status-sheet --format text|html`, so the three cannot say
// different things. The data is gathered by the caller (status_source.hpp);
// this file only lays it out.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pb::web {

using Rows = std::vector<std::pair<std::string, std::string>>;  // label, value

struct StatusSheet {
    std::string generated_at;  // RFC 3339
    Rows network;              // device name, addresses, Web Config, relay
    struct Profile {
        std::string name;   // email, fax, user:alice
        std::string title;  // "Email Server (Network > Email Server > Basic)"
        Rows rows;          // the manual's labels and the values shown on the page
        std::vector<std::string> warnings;
    };
    std::vector<Profile> profiles;  // Email Server Status
    Rows certificates;              // imported CA certificates: subject, valid to
};

// Plain text, one "label  value" line each, sections underlined.
std::string render_status_sheet_text(const StatusSheet& sheet, bool email_only = false);
// The sheet's HTML, for inside a page (escaped; the print styles are in
// style.css).
std::string render_status_sheet_html(const StatusSheet& sheet, bool email_only = false);
// A whole document for `status-sheet --format html`: the same HTML with its
// own print styles, to print or archive without the server.
std::string render_status_sheet_document(const StatusSheet& sheet);

}  // namespace pb::web
