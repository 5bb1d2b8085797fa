// The Email Server page (Network > Email Server > Basic, Fax > Fax Server >
// Email Server Settings) as functions from data to HTML, its Sign In panel
// (also on the Users page), and the reading of its form. No session or store
// here: email_server_page.cpp gathers the data, checks who is asking, and
// calls these.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "store/store.hpp"
#include "web/http.hpp"
#include "web/signin.hpp"

namespace pb::web {

using Change = std::pair<std::string, std::optional<std::string>>;

// Network > Email Server > Basic (profile email) or Fax > Fax Server > Email
// Server Settings (profile fax): the same page for another profile.
struct EmailPage {
    std::string profile;  // "email" or "fax"
    std::string base;     // the page's path, where its forms post
    std::string csrf;

    // Field name (schema key) -> value shown: the effective setting, or what
    // was submitted when the form comes back with errors.
    std::map<std::string, std::string, std::less<>> values;
    std::map<std::string, std::string, std::less<>> errors;
    std::set<std::string, std::less<>> secrets_set;  // secret keys stored ("password")
    std::vector<std::string> warnings;  // Settings::warnings: keys that do not fit together
    std::string notice;                 // e.g. "The settings were applied."
    std::string problem;                // a page-level failure

    SignInStatus signin;
    bool signin_panel = false;  // the Sign In panel is open
    TimePoint now{};
};

std::string render_email_page(const EmailPage& page);

// The Sign In panel of `page.profile` (the Email Server pages, and a user's
// on the Users page): the notice, the code and link, or the paste-back form
// of the authorization code grant. Its forms post to page.base + "/signin"
// with the profile. `done_text` replaces the signed-in sentence (the Users
// page shows the manual's "Authentication was successful. ...").
std::string render_signin_panel(const EmailPage& page, std::string_view service,
                                std::string_view done_text = {});

// The settings a submitted form asks for, checked value by value with the
// schema (settings::normalize). Only values that differ from the effective
// ones become changes; an empty field unsets its key; an empty password
// keeps the stored one. A changed Email service brings its preset, except
// for server fields the administrator edited in the same submission.
struct Submission {
    std::vector<Change> changes;
    std::map<std::string, std::string, std::less<>> values;  // as submitted, for redisplay
    std::map<std::string, std::string, std::less<>> errors;  // field -> message
};
Submission read_email_form(const settings::Settings& current, std::string_view profile,
                           const Params& form);

// The effective values of the page's fields.
std::map<std::string, std::string, std::less<>> email_values(const settings::Settings& s,
                                                             std::string_view profile);

// The page's words for a setting's value ("oauth2" -> "OAuth2",
// "exchange-online" -> "Microsoft Exchange Online"); the value itself when
// it has none.
std::string_view choice_label(std::string_view key, std::string_view value);

// How many minutes and seconds are left, for people ("9 min 58 s").
std::string time_left(Duration d);

// The "Send a test email" form under the page (`base` is its path).
std::string render_test_email_form(std::string_view base, std::string_view csrf,
                                   std::string_view profile);

}  // namespace pb::web
