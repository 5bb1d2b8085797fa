// Names of job states, functions and recipient results (job.hpp).
#include "spool/job.hpp"

#include <array>
#include <utility>

namespace pb::spool {
namespace {

constexpr std::array kStates = {
    std::pair{JobState::queued, std::string_view{"queued"}},
    std::pair{JobState::sending, std::string_view{"sending"}},
    std::pair{JobState::held, std::string_view{"held"}},
    std::pair{JobState::sent, std::string_view{"sent"}},
    std::pair{JobState::partial, std::string_view{"partial"}},
    std::pair{JobState::failed, std::string_view{"failed"}},
};
constexpr std::array kFunctions = {
    std::pair{Function::scan_to_email, std::string_view{"scan-to-email"}},
    std::pair{Function::notification, std::string_view{"notification"}},
    std::pair{Function::fax, std::string_view{"fax"}},
    std::pair{Function::relay, std::string_view{"relay"}},
    std::pair{Function::cli, std::string_view{"cli"}},
};
constexpr std::array kResults = {
    std::pair{RecipientResult::pending, std::string_view{"pending"}},
    std::pair{RecipientResult::accepted, std::string_view{"accepted"}},
    std::pair{RecipientResult::rejected, std::string_view{"rejected"}},
};

template <class Table, class E>
std::string_view name_of(const Table& t, E e) noexcept {
    for (const auto& [v, n] : t)
        if (v == e) return n;
    return "unknown";
}
template <class E, class Table>
std::optional<E> parse(const Table& t, std::string_view s) noexcept {
    for (const auto& [v, n] : t)
        if (n == s) return v;
    return std::nullopt;
}

}  // namespace

std::string_view to_string(JobState s) noexcept {
    return name_of(kStates, s);
}
std::string_view to_string(Function f) noexcept {
    return name_of(kFunctions, f);
}
std::string_view to_string(RecipientResult r) noexcept {
    return name_of(kResults, r);
}
std::optional<JobState> parse_job_state(std::string_view s) noexcept {
    return parse<JobState>(kStates, s);
}
std::optional<Function> parse_function(std::string_view s) noexcept {
    return parse<Function>(kFunctions, s);
}
std::optional<RecipientResult> parse_recipient_result(std::string_view s) noexcept {
    return parse<RecipientResult>(kResults, s);
}

bool is_final(JobState s) noexcept {
    switch (s) {
        case JobState::queued:
        case JobState::sending:
        case JobState::held:
            return false;
        case JobState::sent:
        case JobState::partial:
        case JobState::failed:
            return true;
    }
    return false;
}

}  // namespace pb::spool
