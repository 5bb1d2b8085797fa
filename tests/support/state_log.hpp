// Records what a protocol core's StateTrace is told, and checks that the
// changes form one chain: each starts where the one before ended, and none
// changes to the state it is in. A change made without the setter breaks
// the chain.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/trace.hpp"

namespace pb::test {

struct StateLog {
    std::vector<std::pair<std::string, std::string>> changes;

    StateTrace trace() {
        return [this](std::string_view from, std::string_view to) {
            changes.emplace_back(std::string(from), std::string(to));
        };
    }
    // The states entered, in order.
    std::vector<std::string> entered() const {
        std::vector<std::string> out;
        for (const auto& c : changes) out.push_back(c.second);
        return out;
    }
    // "" when the changes form one chain; else the first fault.
    std::string broken_link() const {
        for (std::size_t i = 0; i < changes.size(); ++i) {
            if (changes[i].first == changes[i].second)
                return "change " + std::to_string(i) + " stays in " + changes[i].first;
            if (i > 0 && changes[i].first != changes[i - 1].second)
                return "change " + std::to_string(i) + " starts in " + changes[i].first +
                       " but the state was " + changes[i - 1].second;
        }
        return {};
    }
};

}  // namespace pb::test
