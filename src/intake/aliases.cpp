// The aliases file (aliases.hpp).
#include "intake/aliases.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.hpp"

namespace pb::intake {
namespace {

// Deeper than any real chain of names: a loop ends here.
constexpr int kMaxDepth = 16;

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string unquoted(std::string_view v) {
    v = trim(v);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return std::string(v);
}

// "a, b,c" -> {"a", "b", "c"}: a comma inside double quotes does not split.
std::vector<std::string> split_values(std::string_view list) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (const char c : list) {
        if (c == '"') quoted = !quoted;
        if (c == ',' && !quoted) {
            if (auto v = unquoted(cur); !v.empty()) out.push_back(std::move(v));
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (auto v = unquoted(cur); !v.empty()) out.push_back(std::move(v));
    return out;
}

}  // namespace

Aliases Aliases::parse(std::string_view text) {
    Aliases a;
    // Logical lines first: continuation lines join the line before.
    struct Logical {
        int number;
        std::string text;
    };
    std::vector<Logical> lines;
    int number = 0;
    while (!text.empty()) {
        const auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (trim(line).empty() || trim(line).front() == '#') continue;
        if (is_space(line.front()) && !lines.empty()) {
            lines.back().text += ' ';
            lines.back().text += trim(line);
            continue;
        }
        lines.push_back({number, std::string(line)});
    }
    for (const auto& [n, line] : lines) {
        const auto colon = line.find(':');
        const std::string name = lower(unquoted(std::string_view(line).substr(0, colon)));
        if (colon == std::string::npos || name.empty() ||
            name.find_first_of(" \t@") != std::string::npos) {
            a.problems_.push_back(
                fmt::format("line {}: not NAME: VALUE, ... ({})", n, escaped(line.substr(0, 60))));
            continue;
        }
        auto values = split_values(std::string_view(line).substr(colon + 1));
        if (values.empty()) {
            a.problems_.push_back(fmt::format("line {}: {} has no value", n, name));
            continue;
        }
        if (a.entries_.contains(name))
            a.problems_.push_back(
                fmt::format("line {}: {} is given again; this one is used", n, name));
        a.entries_[name] = std::move(values);
    }
    return a;
}

Result<std::vector<std::string>> Aliases::expand(std::string_view recipient) const {
    std::vector<std::string> out;
    if (auto r = expand_into(recipient, 0, out); !r) return std::move(r).error();
    // Each address once, in the order first met.
    std::vector<std::string> unique;
    for (auto& a : out)
        if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
    return unique;
}

Result<void> Aliases::expand_into(std::string_view name, int depth,
                                  std::vector<std::string>& out) const {
    if (name.find('@') != std::string_view::npos) {
        out.emplace_back(name);
        return {};
    }
    if (depth > kMaxDepth)
        return fail(Errc::invalid_input,
                    fmt::format("the aliases of {} go round in a loop", escaped(name)));
    const auto it = entries_.find(lower(name));
    if (it == entries_.end())
        return fail(Errc::invalid_input,
                    fmt::format("{} is a local name with no alias: give an address, or map it "
                                "to one in the aliases file (setting aliases)",
                                escaped(name)));
    for (const auto& v : it->second) {
        if (v.starts_with('|') || v.starts_with('/') || istarts_with(v, ":include:"))
            return fail(Errc::invalid_input,
                        fmt::format("the alias {}: {} is a program, a file or an include, which "
                                    "postbridge does not deliver to; map it to an address",
                                    it->first, escaped(v)));
        // A name that maps to itself (root: root) is the local mailbox that
        // postbridge does not have.
        if (lower(v) == it->first)
            return fail(
                Errc::invalid_input,
                fmt::format("the alias {} maps to itself: map it to an address", it->first));
        if (auto r = expand_into(v, depth + 1, out); !r) return r;
    }
    return {};
}

}  // namespace pb::intake
