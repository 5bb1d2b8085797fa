// Markdown of the setup guides to HTML (guides.hpp). A small reading of the
// subset docs/ is written in: ATX headings, paragraphs, "-" and "1." lists
// whose items continue on indented lines, fenced code, pipe tables, and
// inline `code`, **strong** and bare https:// links. Everything else is
// text, escaped.
#include "web/guides.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/text.hpp"
#include "web/html.hpp"

namespace pb::web {
namespace {

// A bare URL ends at a space or at what closes the sentence around it.
std::size_t url_end(std::string_view s, std::size_t from) {
    std::size_t e = from;
    while (e < s.size() && s[e] != ' ' && s[e] != ')' && s[e] != '<' && s[e] != '`') ++e;
    while (e > from && (s[e - 1] == '.' || s[e - 1] == ',' || s[e - 1] == ';')) --e;
    return e;
}

std::string inline_html(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] == '`') {
            const auto close = s.find('`', i + 1);
            if (close != std::string_view::npos) {
                out += "<code>" + escape(s.substr(i + 1, close - i - 1)) + "</code>";
                i = close + 1;
                continue;
            }
        }
        if (s.substr(i, 2) == "**") {
            const auto close = s.find("**", i + 2);
            if (close != std::string_view::npos) {
                out += "<strong>" + inline_html(s.substr(i + 2, close - i - 2)) + "</strong>";
                i = close + 2;
                continue;
            }
        }
        if (s.substr(i, 8) == "https://") {
            const auto e = url_end(s, i);
            const auto url = escape(s.substr(i, e - i));
            out += fmt::format(R"(<a href="{0}" rel="noopener noreferrer">{0}</a>)", url);
            i = e;
            continue;
        }
        const auto next = s.find_first_of("`*h", i + 1);
        const auto end = next == std::string_view::npos ? s.size() : next;
        out += escape(s.substr(i, end - i));
        i = end;
    }
    return out;
}

std::vector<std::string_view> cells(std::string_view row) {
    row = trim(row);
    if (row.starts_with('|')) row.remove_prefix(1);
    if (row.ends_with('|')) row.remove_suffix(1);
    std::vector<std::string_view> out;
    while (true) {
        const auto bar = row.find('|');
        out.push_back(trim(row.substr(0, bar)));
        if (bar == std::string_view::npos) break;
        row.remove_prefix(bar + 1);
    }
    return out;
}

// "- x" or "12. x": the item's text, and whether the list is ordered.
std::optional<std::pair<std::string_view, bool>> list_item(std::string_view line) {
    if (line.starts_with("- ") || line.starts_with("* ")) return std::pair{line.substr(2), false};
    std::size_t d = 0;
    while (d < line.size() && line[d] >= '0' && line[d] <= '9') ++d;
    if (d > 0 && line.substr(d, 2) == ". ") return std::pair{line.substr(d + 2), true};
    return std::nullopt;
}

}  // namespace

std::string render_guide(std::string_view markdown) {
    std::vector<std::string_view> lines;
    while (!markdown.empty()) {
        const auto nl = markdown.find('\n');
        lines.push_back(markdown.substr(0, nl));
        markdown = nl == std::string_view::npos ? std::string_view{} : markdown.substr(nl + 1);
    }
    std::string out;
    std::size_t i = 0;
    auto blank = [&](std::size_t k) { return trim(lines[k]).empty(); };
    while (i < lines.size()) {
        const std::string_view line = lines[i];
        const std::string_view t = trim(line);
        if (t.empty()) {
            ++i;
        } else if (t.starts_with("```")) {
            std::string code;
            for (++i; i < lines.size() && !trim(lines[i]).starts_with("```"); ++i)
                code += std::string(lines[i]) + "\n";
            ++i;
            out += "<pre><code>" + escape(code) + "</code></pre>\n";
        } else if (t.starts_with('#')) {
            std::size_t level = 0;
            while (level < t.size() && t[level] == '#') ++level;
            const auto text = inline_html(trim(t.substr(level)));
            // The page's own title is the h1: sections start at h2.
            out += fmt::format("<h{0}>{1}</h{0}>\n", std::clamp<std::size_t>(level, 2, 6), text);
            ++i;
        } else if (t.starts_with('|')) {
            out += "<table>\n";
            bool head = true;
            for (; i < lines.size() && trim(lines[i]).starts_with('|'); ++i) {
                const auto row = cells(lines[i]);
                if (!row.empty() && row.front().starts_with("---")) continue;
                out += "<tr>";
                for (auto c : row)
                    out += fmt::format("<{0}>{1}</{0}>", head ? "th" : "td", inline_html(c));
                out += "</tr>\n";
                head = false;
            }
            out += "</table>\n";
        } else if (const auto first = list_item(t); first && line == t) {
            const bool ordered = first->second;
            out += ordered ? "<ol>\n" : "<ul>\n";
            while (i < lines.size()) {
                const auto item = list_item(lines[i]);
                if (!item || item->second != ordered) break;
                std::string text(item->first);
                // Its continuation: the indented lines that follow.
                for (++i; i < lines.size() && !blank(i) && lines[i].starts_with("  "); ++i)
                    text += " " + std::string(trim(lines[i]));
                out += "<li>" + inline_html(text) + "</li>\n";
                while (i < lines.size() && blank(i) && i + 1 < lines.size() &&
                       list_item(lines[i + 1]))
                    ++i;
            }
            out += ordered ? "</ol>\n" : "</ul>\n";
        } else {
            std::string text;
            for (; i < lines.size() && !blank(i); ++i) {
                const auto u = trim(lines[i]);
                if (!text.empty() && (u.starts_with('#') || u.starts_with("```") ||
                                      u.starts_with('|') || list_item(u)))
                    break;
                text += (text.empty() ? "" : " ") + std::string(u);
            }
            out += "<p>" + inline_html(text) + "</p>\n";
        }
    }
    return out;
}

}  // namespace pb::web
