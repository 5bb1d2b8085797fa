// Recipients for Graph's MIME sends (recipients.hpp).
#include "graph/recipients.hpp"

#include <algorithm>
#include <set>

#include "core/text.hpp"
#include "mime/address.hpp"
#include "mime/header.hpp"

namespace pb::graph {
namespace {

struct Field {
    std::string_view raw;  // the whole field with its line ends
    std::string name;      // lowercase
    std::string value;     // unfolded, after the colon
};

// Splits a header block (without its empty line) into fields.
std::vector<Field> fields_of(std::string_view block) {
    std::vector<Field> out;
    std::size_t pos = 0;
    while (pos < block.size()) {
        std::size_t end = pos;
        // A field runs to the line end not followed by a continuation (SP/HT).
        for (;;) {
            const auto nl = block.find('\n', end);
            end = nl == std::string_view::npos ? block.size() : nl + 1;
            if (end >= block.size() || (block[end] != ' ' && block[end] != '\t')) break;
        }
        const std::string_view raw = block.substr(pos, end - pos);
        Field f{raw, {}, {}};
        const auto colon = raw.find(':');
        if (colon != std::string_view::npos) {
            f.name = lower(trim(raw.substr(0, colon)));
            for (char c : raw.substr(colon + 1))
                if (c != '\r' && c != '\n') f.value.push_back(c);
        }
        out.push_back(std::move(f));
        pos = end;
    }
    return out;
}

std::string_view line_end_of(std::string_view block) {
    const auto nl = block.find('\n');
    return nl != std::string_view::npos && nl > 0 && block[nl - 1] == '\r' ? "\r\n" : "\n";
}

// HeaderField ends with CRLF; a block with bare LF gets LF.
std::string with_line_end(std::string field, std::string_view eol) {
    if (eol == "\r\n") return field;
    std::string out;
    for (char c : field)
        if (c != '\r') out.push_back(c);
    return out;
}

}  // namespace

std::size_t header_end(std::string_view data) noexcept {
    if (data.starts_with("\r\n")) return 2;
    if (data.starts_with("\n")) return 1;
    for (std::size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
        if (i + 1 < data.size() && data[i + 1] == '\n') return i + 2;
        if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
    }
    return std::string_view::npos;
}

Result<RecipientPlan> plan_recipients(std::string_view header_block,
                                      std::span<const std::string> envelope) {
    const std::string_view eol = line_end_of(header_block);
    std::string_view block = header_block;
    if (block.ends_with("\r\n\r\n"))
        block.remove_suffix(2);
    else if (block.ends_with("\n\n"))
        block.remove_suffix(1);
    else if (block == "\r\n" || block == "\n")
        block = {};

    std::set<std::string> wanted;
    for (const auto& a : envelope) wanted.insert(lower(a));

    RecipientPlan plan;
    std::set<std::string> in_headers;  // envelope addresses a To or Cc field names
    std::string out;
    for (const Field& f : fields_of(block)) {
        if (f.name == "bcc") {
            plan.changed = true;
            continue;
        }
        if (f.name != "to" && f.name != "cc") {
            out += f.raw;
            continue;
        }
        auto list =
            mime::parse_address_list(f.value, f.name == "to" ? "To" : "Cc", mime::EmptyList::allow);
        if (!list) return list.error();
        std::vector<const mime::Mailbox*> kept;
        for (const auto& m : *list) {
            const std::string key = lower(m.addr_spec());
            if (wanted.contains(key)) {
                kept.push_back(&m);
                in_headers.insert(key);
            } else {
                plan.dropped.push_back(m.addr_spec());
            }
        }
        if (kept.size() == list->size()) {
            out += f.raw;
            continue;
        }
        plan.changed = true;
        if (kept.empty()) continue;
        mime::HeaderField h(f.name == "to" ? "To" : "Cc");
        for (std::size_t i = 0; i < kept.size(); ++i) {
            if (i > 0) h.glue(",");
            h.mailbox(*kept[i]);
        }
        out += with_line_end(std::move(h).finish(), eol);
    }
    for (const auto& a : envelope) {
        const std::string key = lower(a);
        if (in_headers.contains(key)) continue;
        if (std::ranges::find(plan.bcc, a) != plan.bcc.end()) continue;
        plan.bcc.push_back(a);
        in_headers.insert(key);
    }
    if (!plan.bcc.empty()) {
        plan.changed = true;
        mime::HeaderField h("Bcc");
        for (std::size_t i = 0; i < plan.bcc.size(); ++i) {
            if (i > 0) h.glue(",");
            h.word(plan.bcc[i]);
        }
        out += with_line_end(std::move(h).finish(), eol);
    }
    if (!plan.changed) {
        plan.header = std::string(header_block);
        return plan;
    }
    out += eol;
    plan.header = std::move(out);
    return plan;
}

}  // namespace pb::graph
