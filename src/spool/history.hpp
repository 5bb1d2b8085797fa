// The job history as the outside sees it: the JSON object of `jobs show`,
// `send --wait` and the web page's API (design.md), and the one-line text
// form of `postbridge jobs`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "spool/job.hpp"

namespace pb::spool {

// {"job":N,"state":..,"code":..,"status":..,"remedy":..,"recipients":[..],
//  "function":..,"profile":..,"sender":..,"subject":..,"size":..,
//  "attempts":..,"created_at":..,"updated_at":..,...}; absent values left out.
nlohmann::json to_json(const Job& job, bool with_transcript = false);

// What to do about the job's code: the code's remedy, except that a user's
// own sign-in (Scan to My Email, profile user:NAME) is the user's to make,
// on Web Config's My Email page.
inline constexpr std::string_view kUserSignInRemedy =
    "Sign in with your own account on Web Config's My Email page (/my-email); the job then "
    "goes out by itself.";
std::string_view remedy_of(const Job& job);

// "12  2026-11-27T10:00:00Z  sent     cli  email  a@b.example  Subject"
std::string summary_line(const Job& job);

// mailq (sendmail -bp): the jobs of `jobs` not yet delivered, oldest first,
// in the layout of Postfix's mailq: id (marked ! held, * being sent), size,
// arrival time, sender; then the reason it waits and each recipient that
// does; a total line. "Mail queue is empty" when none waits.
std::string mailq_text(const std::vector<Job>& jobs);

}  // namespace pb::spool
