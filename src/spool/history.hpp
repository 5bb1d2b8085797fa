// The job history as the outside sees it: the JSON object of `jobs show`,
// `send --wait` and the web page's API (design.md), and the one-line text
// form of `postbridge jobs`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "spool/job.hpp"

namespace pb::spool {

// {"job":N,"state":..,"code":..,"status":..,"remedy":..,"recipients":[..],
//  "function":..,"profile":..,"sender":..,"subject":..,"size":..,
//  "attempts":..,"created_at":..,"updated_at":..,...}; absent values left out.
nlohmann::json to_json(const Job& job, bool with_transcript = false);

// "12  2026-11-27T10:00:00Z  sent     cli  email  a@b.example  Subject"
std::string summary_line(const Job& job);

}  // namespace pb::spool
