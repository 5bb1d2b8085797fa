// The pages of Web Config part 2 as functions from data to HTML: Connection
// Test, CA Certificate, Root Certificate Update, Job Status, Users (Scan to
// My Email), Status Sheet, Product Security, and the Basic page's "Send a
// test email". Like pages.hpp: no session or store here, every value
// escaped. Job and test results come as the JSON the CLI prints, so the
// page shows the same fields with the same words.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "store/store.hpp"
#include "web/html.hpp"
#include "web/signin.hpp"
#include "web/status_sheet.hpp"

namespace pb::web {

// The links under a tab (Network: Basic, Connection Test; ...), the current
// one marked.
std::string render_subnav(Tab tab, std::string_view path, bool fax);

// A notice and a problem line, both optional.
std::string render_messages(std::string_view notice, std::string_view problem);

struct ConnectionTestPage {
    std::string csrf;
    std::string profile;                   // chosen
    std::vector<std::string> profiles;     // to choose from
    std::optional<nlohmann::json> result;  // service::connection_test_json
    std::string problem;                   // the test could not start
    bool running = false;                  // started, no result yet: the page reloads
};
std::string render_connection_test_page(const ConnectionTestPage& page);

std::string render_ca_page(const std::vector<store::CaCert>& certs, std::string_view csrf,
                           std::string_view notice, std::string_view problem);
std::string render_root_update_page(std::size_t imported, std::string_view csrf,
                                    std::string_view notice, std::string_view problem);

// `more`: there are older jobs; the link shows this many.
std::string render_jobs_page(const std::vector<nlohmann::json>& jobs,
                             std::optional<std::size_t> more = std::nullopt);
std::string render_job_page(const nlohmann::json& job, std::string_view csrf,
                            std::string_view notice, std::string_view problem);

// The manual's sentence after a user's sign-in (section 6).
inline constexpr std::string_view kUserSignedIn =
    "Authentication was successful. Try the operation again from the Home Screen.";

struct UsersPage {
    struct Row {
        store::User user;
        SignInStatus signin;
    };
    std::string csrf;
    std::vector<Row> users;
    std::string notice, problem;
    std::string name, email;  // the add form as sent, when it comes back with an error
    // The user whose Sign In panel is open, with its page data.
    std::string active;
    std::string panel;  // render_signin_panel's HTML for `active`
};
std::string render_users_page(const UsersPage& page);
// Whether a sign-in failure means the organization's consent is missing.
bool consent_missing(std::string_view reason);

std::string render_status_sheet_page(const StatusSheet& sheet, bool email_only);

std::string render_product_security_page(std::string_view csrf, std::string_view notice,
                                         std::string_view problem);

// The "Send a test email" form under the Basic page (`base` is its path).
std::string render_test_email_form(std::string_view base, std::string_view csrf,
                                   std::string_view profile);

}  // namespace pb::web
