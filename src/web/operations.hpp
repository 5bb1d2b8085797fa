// What Web Config's pages and the JSON API need from the running service
// besides the settings and sign-ins: the connection test, the job history,
// sending, the status sheet and the status answer. An interface, so pb_web
// stays plain C++ (no sockets, no libcurl) and its tests script it;
// operations_service.cpp implements it over service::Outbox inside serve.
//
// Answers are the JSON objects the command line prints with --json (the
// connection test, `jobs show`, `status`), so the page, the API and the
// CLI report the same fields with the same words.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "web/status_sheet.hpp"

namespace pb::web {

struct SendRequest {
    std::string profile = "email";
    std::vector<std::string> to, cc, bcc;  // each entry may be a comma list
    std::string subject;
    std::string body;
};

// One check of /readyz: its name, and what is wrong ("" when it passed).
struct ReadyCheck {
    std::string name;
    std::string problem;
};

class Operations {
  public:
    virtual ~Operations() = default;

    // /readyz: whether the service can take and keep mail now. Each check
    // of the spool (writable), the store (opens and answers) and the
    // listeners (up as the settings say).
    virtual std::vector<ReadyCheck> readiness() { return {}; }
    // /metrics: the Prometheus text (observe/metrics.hpp).
    virtual Result<std::string> metrics() {
        return fail(Errc::invalid_input, "no metrics in this build of the page");
    }

    // The connection test runs on a thread of its own: against a server
    // that does not answer it lasts as long as the timeout, and the pages
    // go on meanwhile. One at a time for a profile: starting it again while
    // it runs does nothing.
    virtual void start_connection_test(std::string_view profile) = 0;
    virtual bool connection_test_running(std::string_view profile) = 0;
    // Once it ended, its result, given once: `test-connection --json`, or an
    // error when the test could not start (unknown profile, settings that do
    // not fit together). nullopt while it runs or when none was started.
    virtual std::optional<Result<nlohmann::json>> take_connection_test(
        std::string_view profile) = 0;

    // The history, newest first: `jobs --json` objects.
    virtual Result<std::vector<nlohmann::json>> jobs(std::size_t limit) = 0;
    // `jobs show --json` (recipients, redacted transcript); nullopt: no such job.
    virtual Result<std::optional<nlohmann::json>> job(std::int64_t id) = 0;
    // `jobs retry`: the job queued again (or released), as it is now.
    virtual Result<nlohmann::json> retry(std::int64_t id) = 0;

    // `send`: the job as accepted ({"job":N,"state":..}); a job held for
    // sign-in carries "message" with the manual's sentence.
    virtual Result<nlohmann::json> send(const SendRequest& request) = 0;

    // `status --json`: {"profiles":[..]}; one profile when given.
    virtual Result<nlohmann::json> status(std::optional<std::string> profile) = 0;
    virtual Result<StatusSheet> status_sheet() = 0;
};

}  // namespace pb::web
