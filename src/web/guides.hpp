// The setup guides of docs/ (Exchange Online, Outlook.com, Gmail, the
// relay), compiled in and shown at /guide/NAME, linked from the Basic page
// beside the fields they explain.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace pb::web {

// Name ("exchange-online") -> the guide's Markdown.
const std::map<std::string_view, std::string_view, std::less<>>& guides();

// A guide as a page's HTML: Markdown's headings, paragraphs, lists, code,
// emphasis and links, every text escaped. Only what the guides use.
std::string render_guide(std::string_view markdown);

}  // namespace pb::web
