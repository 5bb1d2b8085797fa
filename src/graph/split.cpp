// Top-level MIME parts of a large message, and the split plan (split.hpp).
#include "graph/split.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "core/text.hpp"
#include "oauth/url.hpp"

namespace pb::graph {
namespace {

// A delimiter line is "--" + boundary (at most 70) + "--" + whitespace: a
// line longer than this cannot be one and is not kept.
constexpr std::size_t kMaxLine = 1024;
// A header (top level or of a part) beyond this is not a message we split.
constexpr std::size_t kMaxHeader = 256 * 1024;

// Each byte's meaning in base64: its value, or one of these.
constexpr std::uint8_t kB64Skip = 64, kB64Pad = 65, kB64Bad = 66;

constexpr std::array<std::uint8_t, 256> make_b64_table() {
    std::array<std::uint8_t, 256> t{};
    for (auto& v : t) v = kB64Bad;
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::uint8_t>(i);
    for (char c : {'\r', '\n', ' ', '\t'}) t[static_cast<unsigned char>(c)] = kB64Skip;
    t['='] = kB64Pad;
    return t;
}

constexpr auto kB64Table = make_b64_table();

bool b64_alphabet(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

// The value of header field `name` (unfolded), from a header block.
std::optional<std::string> field(std::string_view header, std::string_view name) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t end = pos;
        for (;;) {
            const auto nl = header.find('\n', end);
            end = nl == std::string_view::npos ? header.size() : nl + 1;
            if (end >= header.size() || (header[end] != ' ' && header[end] != '\t')) break;
        }
        const auto line = header.substr(pos, end - pos);
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), name)) {
            std::string v;
            for (char c : line.substr(colon + 1))
                if (c != '\r' && c != '\n') v.push_back(c == '\t' ? ' ' : c);
            return std::string(trim(v));
        }
        pos = end;
    }
    return std::nullopt;
}

// "type/subtype; a=b; c=\"d\"": the lowercased type, and parameters by lowercased name.
struct Params {
    std::string value;
    std::vector<std::pair<std::string, std::string>> params;
    std::optional<std::string> get(std::string_view name) const {
        for (const auto& [k, v] : params)
            if (k == name) return v;
        return std::nullopt;
    }
};

Params parse_params(std::string_view text) {
    Params p;
    auto semi = text.find(';');
    p.value = lower(trim(text.substr(0, semi)));
    while (semi != std::string_view::npos) {
        text.remove_prefix(semi + 1);
        const auto eq = text.find('=');
        if (eq == std::string_view::npos) break;
        std::string name = lower(trim(text.substr(0, eq)));
        text.remove_prefix(eq + 1);
        while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
            text.remove_prefix(1);
        std::string value;
        if (!text.empty() && text.front() == '"') {
            std::size_t i = 1;
            for (; i < text.size() && text[i] != '"'; ++i) {
                if (text[i] == '\\' && i + 1 < text.size()) ++i;
                value.push_back(text[i]);
            }
            text.remove_prefix(std::min(text.size(), i + 1));
            semi = text.find(';');
        } else {
            semi = text.find(';');
            value = std::string(trim(text.substr(0, semi)));
        }
        p.params.emplace_back(std::move(name), std::move(value));
    }
    return p;
}

// A file name from parameters: name*=charset''pct (RFC 2231, one piece) or name=.
std::string filename_from(const Params& p, std::string_view name) {
    if (auto ext = p.get(std::string(name) + "*")) {
        const auto q = ext->find("''");
        if (q != std::string::npos) {
            std::string encoded = ext->substr(q + 2);
            std::ranges::replace(encoded, '+',
                                 ' ');  // form_decode would read '+' as a space anyway
            if (auto d = oauth::form_decode(encoded)) return *d;
        }
    }
    if (auto v = p.get(name)) return *v;
    return {};
}

}  // namespace

// ---- the scanner ---------------------------------------------------------

void MimeScanner::put(std::string_view chunk) {
    // Byte by byte only at line breaks; the bytes between them go as runs
    // (a 100 MB scan is 1.8 million lines of 76 base64 characters).
    const char* p = chunk.data();
    const char* const end = p + chunk.size();
    while (p < end) {
        if (*p == '\r' || *p == '\n' || saw_cr_) {
            byte(*p++);
            continue;
        }
        const auto left = static_cast<std::size_t>(end - p);
        const char* lf = static_cast<const char*>(std::memchr(p, '\n', left));
        const char* stop = lf != nullptr ? lf : end;
        if (const void* cr = std::memchr(p, '\r', static_cast<std::size_t>(stop - p)))
            stop = static_cast<const char*>(cr);
        run(std::string_view(p, static_cast<std::size_t>(stop - p)));
        p = stop;
    }
}

// What byte() does for each of `plain` (no CR, no LF, none pending).
void MimeScanner::run(std::string_view plain) {
    offset_ += plain.size();
    const std::size_t room = line_.size() < kMaxLine ? kMaxLine - line_.size() : 0;
    line_.append(plain.substr(0, room));
    if (plain.size() > room) line_overflow_ = true;
    if (state_ != State::part_body || part_.encoding != "base64") return;
    for (char c : plain) {
        const std::uint8_t v = kB64Table[static_cast<unsigned char>(c)];
        if (v < 64) {
            if (b64_pad_ + line_pad_ > 0) line_bad_ = true;  // data after padding
            ++line_chars_;
        } else if (v == kB64Pad) {
            ++line_pad_;
        } else if (v == kB64Bad) {  // kB64Skip: space or tab (no CR or LF here)
            line_bad_ = true;
        }
    }
}

void MimeScanner::byte(char c) {
    if (c == '\n') {
        line_content_end_ = saw_cr_ ? offset_ - 1 : offset_;
        ++offset_;
        end_of_line();
        line_.clear();
        line_overflow_ = false;
        saw_cr_ = false;
        line_begin_ = offset_;
        return;
    }
    if (saw_cr_) {  // a CR not followed by LF is data
        if (line_.size() < kMaxLine)
            line_.push_back('\r');
        else
            line_overflow_ = true;
    }
    saw_cr_ = c == '\r';
    ++offset_;
    if (saw_cr_) return;
    if (line_.size() < kMaxLine)
        line_.push_back(c);
    else
        line_overflow_ = true;
    if (state_ == State::part_body && part_.encoding == "base64") {
        if (b64_alphabet(c)) {
            if (b64_pad_ + line_pad_ > 0) line_bad_ = true;  // data after padding
            ++line_chars_;
        } else if (c == '=') {
            ++line_pad_;
        } else if (c != ' ' && c != '\t') {
            line_bad_ = true;
        }
    }
}

bool MimeScanner::is_delimiter(bool& closing) const {
    if (line_overflow_ || s_.boundary.empty()) return false;
    std::string_view l = line_;
    if (!l.starts_with("--") || l.substr(2, s_.boundary.size()) != s_.boundary) return false;
    l.remove_prefix(2 + s_.boundary.size());
    closing = l.starts_with("--");
    if (closing) l.remove_prefix(2);
    return std::ranges::all_of(l, [](char c) { return c == ' ' || c == '\t'; });
}

void MimeScanner::header_line_done(std::string& into) {
    if (into.size() + line_.size() + 2 > kMaxHeader) {
        state_ = State::opaque;
        return;
    }
    into += line_;
    into += "\r\n";
}

void MimeScanner::parse_top_header() {
    s_.header_end = offset_;
    const auto ct = parse_params(field(header_, "Content-Type").value_or("text/plain"));
    s_.content_type = ct.value;
    header_.clear();
    if (!ct.value.starts_with("multipart/")) {
        state_ = State::opaque;
        return;
    }
    s_.boundary = ct.get("boundary").value_or("");
    state_ = s_.boundary.empty() || s_.boundary.size() > 70 ? State::opaque : State::preamble;
}

void MimeScanner::parse_part_header() {
    const auto ct = parse_params(field(header_, "Content-Type").value_or("text/plain"));
    part_.content_type = ct.value;
    part_.encoding = lower(field(header_, "Content-Transfer-Encoding").value_or(""));
    const auto cd = parse_params(field(header_, "Content-Disposition").value_or(""));
    part_.inline_disposition = cd.value == "inline";
    part_.filename = filename_from(cd, "filename");
    if (part_.filename.empty()) part_.filename = filename_from(ct, "name");
    std::string id = field(header_, "Content-ID").value_or("");
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
    part_.content_id = id;
    header_.clear();
    part_.body_begin = offset_;
    b64_chars_ = b64_pad_ = 0;
    b64_bad_ = false;
}

void MimeScanner::end_of_line() {
    bool closing = false;
    const bool delimiter = is_delimiter(closing);
    if (state_ == State::part_body && !delimiter) {
        b64_chars_ += line_chars_;
        b64_pad_ += line_pad_;
        b64_bad_ = b64_bad_ || line_bad_;
    }
    line_chars_ = line_pad_ = 0;
    line_bad_ = false;
    switch (state_) {
        case State::top_header:
            if (line_.empty() && !line_overflow_)
                parse_top_header();
            else
                header_line_done(header_);
            break;
        case State::preamble:
        case State::part_header:
        case State::part_body:
            if (delimiter) {
                // The line break before the delimiter belongs to it (RFC 2046 5.1.1).
                const std::uint64_t open =
                    line_begin_ == s_.header_end ? line_begin_ : prev_line_end_;
                if (in_part_) {
                    part_.end = open;
                    if (part_.encoding == "base64") {
                        part_.valid_base64 =
                            !b64_bad_ && (b64_chars_ + b64_pad_) % 4 == 0 && b64_pad_ <= 2;
                        part_.decoded_size = (b64_chars_ + b64_pad_) / 4 * 3 - b64_pad_;
                    }
                    if (state_ == State::part_header) part_.body_begin = open;  // no body
                    s_.parts.push_back(std::move(part_));
                    part_ = Part{};
                }
                if (closing) {
                    in_part_ = false;
                    closed_ = true;
                    state_ = State::epilogue;
                } else {
                    in_part_ = true;
                    part_.open = open;
                    state_ = State::part_header;
                }
            } else if (state_ == State::part_header) {
                if (line_.empty() && !line_overflow_) {
                    parse_part_header();
                    state_ = State::part_body;
                } else {
                    header_line_done(header_);
                }
            }
            break;
        case State::epilogue:
        case State::opaque:
            break;
    }
    prev_line_end_ = line_content_end_;
}

Structure MimeScanner::finish() {
    if (!line_.empty() || saw_cr_) {
        line_content_end_ = offset_;
        end_of_line();
    }
    s_.size = offset_;
    if (!closed_ || state_ == State::opaque) s_.parts.clear();
    return std::move(s_);
}

// ---- the plan --------------------------------------------------------------

Result<SplitPlan> plan_split(const Structure& s) {
    if (s.size > kMaxMessageBytes)
        return Error{Errc::message_too_large,
                     fmt::format("The message is {} bytes; Microsoft Graph takes at most {}",
                                 s.size, kMaxMessageBytes)};
    auto cannot = [&](std::string_view why) {
        return Error{Errc::graph_cannot_split,
                     fmt::format("The message ({} bytes, {}) is too large for one Microsoft Graph "
                                 "request and cannot be sent as a draft with attachments: {}",
                                 s.size, s.content_type.empty() ? "no type" : s.content_type, why)};
    };
    if (s.content_type != "multipart/mixed")
        return cannot(s.content_type == "multipart/signed" ||
                              s.content_type == "application/pkcs7-mime" ||
                              s.content_type == "multipart/encrypted"
                          ? "a signed or encrypted message must stay byte for byte as it is"
                          : "only a multipart/mixed message has attachments to take apart");
    if (s.parts.empty()) return cannot("its parts could not be read");

    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < s.parts.size(); ++i) {
        const Part& p = s.parts[i];
        if (p.encoding == "base64" && p.valid_base64 && p.decoded_size > 0 &&
            !p.content_type.starts_with("multipart/") && !p.content_type.starts_with("message/"))
            candidates.push_back(i);
    }
    std::ranges::stable_sort(candidates, [&](std::size_t a, std::size_t b) {
        return s.parts[a].end - s.parts[a].open > s.parts[b].end - s.parts[b].open;
    });
    SplitPlan plan;
    std::uint64_t removed = 0;
    for (std::size_t i : candidates) {
        if (fits_one_request(s.size - removed)) break;
        plan.uploads.push_back(i);
        removed += s.parts[i].end - s.parts[i].open;
    }
    if (!fits_one_request(s.size - removed))
        return cannot("what is left without its base64 attachments is still over 4 MB");
    std::ranges::sort(plan.uploads);
    std::uint64_t at = 0;
    for (std::size_t i : plan.uploads) {
        plan.draft.push_back(Piece{at, s.parts[i].open});
        at = s.parts[i].end;
    }
    plan.draft.push_back(Piece{at, s.size});
    std::erase_if(plan.draft, [](const Piece& p) { return p.begin == p.end; });
    plan.draft_size =
        std::accumulate(plan.draft.begin(), plan.draft.end(), std::uint64_t{0},
                        [](std::uint64_t n, const Piece& p) { return n + p.end - p.begin; });
    return plan;
}

AttachmentItem attachment_item(const Part& p, std::size_t index) {
    AttachmentItem a;
    a.name = p.filename.empty() ? fmt::format("attachment-{}", index + 1) : p.filename;
    a.size = p.decoded_size;
    a.content_type = p.content_type.empty() ? "application/octet-stream" : p.content_type;
    if (p.inline_disposition || (p.filename.empty() && !p.content_id.empty()))
        a.content_id = p.content_id;
    return a;
}

// ---- base64 ------------------------------------------------------------------

bool Base64Decoder::put(std::string_view in, std::string& out) {
    // Written in place (a table and no push_back: this runs over every
    // byte of a 150 MB attachment); `out` is cut to what was written.
    const std::size_t start = out.size();
    out.resize(start + (in.size() / 4 + 1) * 3);
    char* o = out.data() + start;
    auto done = [&](bool ok) {
        out.resize(static_cast<std::size_t>(o - out.data()));
        return ok;
    };
    for (char c : in) {
        const std::uint8_t v = kB64Table[static_cast<unsigned char>(c)];
        if (v < 64) {
            if (pad_ > 0) return done(false);  // data after padding
            acc_ = (acc_ << 6) | v;
            if (++n_ == 4) {
                *o++ = static_cast<char>(acc_ >> 16);
                *o++ = static_cast<char>((acc_ >> 8) & 0xff);
                *o++ = static_cast<char>(acc_ & 0xff);
                acc_ = 0;
                n_ = 0;
            }
        } else if (v == kB64Skip) {
            continue;
        } else if (v == kB64Pad) {
            if (n_ < 2) return done(false);
            ++pad_;
            ++n_;
            acc_ <<= 6;
            if (n_ == 4) {
                *o++ = static_cast<char>(acc_ >> 16);
                if (pad_ == 1) *o++ = static_cast<char>((acc_ >> 8) & 0xff);
                acc_ = 0;
                n_ = 0;
            }
        } else {
            return done(false);
        }
    }
    return done(true);
}

bool Base64Decoder::finish(std::string& out) {
    (void)out;
    return n_ == 0;
}

}  // namespace pb::graph
