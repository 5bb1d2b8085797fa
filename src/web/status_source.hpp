// The data of the status sheet and of the status answer, gathered from the
// settings, the store and each profile's sign-in: shared by Web Config
// (through Operations) and `postbridge status-sheet`, so the page and the
// printout are made by the same code.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/settings.hpp"
#include "service/runtime.hpp"
#include "store/store.hpp"
#include "web/status_sheet.hpp"

namespace pb::web {

using StatusLookup = std::function<Result<service::SignInStatus>(const std::string& profile)>;

// The profiles worth showing: email, fax when configured, every user.
Result<std::vector<std::string>> shown_profiles(store::Store& store,
                                                const settings::Settings& settings);

// The sheet for these settings; `status` gives each profile's sign-in.
Result<StatusSheet> collect_status_sheet(store::Store& store, const settings::Config& config,
                                         const StatusLookup& status, TimePoint now);

// `status --json`'s {"profiles":[..]} for these profiles.
Result<nlohmann::json> status_json(const settings::Config& config,
                                   const std::vector<std::string>& profiles,
                                   const StatusLookup& status);

}  // namespace pb::web
