#include "mime/preformed.hpp"

#include <cstring>

#include "core/text.hpp"
#include "mime/body.hpp"
#include "mime/header.hpp"

namespace pb::mime {
namespace {

constexpr std::size_t kMaxHeader = 1 << 20;
constexpr std::size_t kChunk = 32 * 1024;

// A field name (RFC 5322 3.6.8): printable ASCII except ':', then ':'.
std::optional<std::string_view> field_name(std::string_view line) {
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
        name.remove_suffix(1);  // obs-optional
    for (char c : name) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126) return std::nullopt;
    }
    return name.empty() ? std::nullopt : std::optional(name);
}

struct Field {
    std::string name;
    std::string raw;  // every line of it, with CRLFs
};

std::string unfolded_value(const Field& f) {
    std::string v = f.raw.substr(f.raw.find(':') + 1);
    std::string out;
    for (char c : v)
        if (c != '\r' && c != '\n') out.push_back(c);
    return out;
}

// The fixed header, then the body as it comes, normalised.
class PreformedSource final : public ByteSource {
  public:
    PreformedSource(std::string head, std::unique_ptr<ByteSource> input, CrlfNormalizer normalizer,
                    bool done)
        : pending_(std::move(head)),
          input_(std::move(input)),
          normalizer_(normalizer),
          done_(done) {}

    Result<std::size_t> read(std::span<char> out) override {
        std::size_t written = 0;
        while (written < out.size()) {
            if (pos_ == pending_.size()) {
                if (done_) break;
                pending_.clear();
                pos_ = 0;
                char buf[kChunk];
                auto n = input_->read(std::span<char>(buf, sizeof buf));
                if (!n) return std::move(n).error();
                if (*n == 0) {
                    normalizer_.finish(pending_);
                    done_ = true;
                    input_.reset();
                } else {
                    normalizer_.feed(std::string_view(buf, *n), pending_);
                }
                continue;
            }
            const std::size_t n = std::min(out.size() - written, pending_.size() - pos_);
            std::memcpy(out.data() + written, pending_.data() + pos_, n);
            written += n;
            pos_ += n;
        }
        return written;
    }

  private:
    std::string pending_;
    std::size_t pos_ = 0;
    std::unique_ptr<ByteSource> input_;
    CrlfNormalizer normalizer_;
    bool done_;
};

}  // namespace

Result<Preformed> wrap_preformed(std::unique_ptr<ByteSource> input, const Mailbox& default_from,
                                 const Clock& clock, Random& random,
                                 const PreformedOptions& options) {
    // Read until the blank line, normalising as we go so that one search
    // for CRLF CRLF finds the end whatever line ends the sender used.
    CrlfNormalizer normalizer;
    std::string text;
    bool eof = false;
    std::size_t end = std::string::npos;
    std::size_t searched = 0;
    while (end == std::string::npos && !eof) {
        if (text.size() > kMaxHeader)
            return fail(Errc::invalid_input, "message: the header section is larger than 1 MiB");
        char buf[kChunk];
        auto n = input->read(std::span<char>(buf, sizeof buf));
        if (!n) return std::move(n).error();
        if (*n == 0) {
            normalizer.finish(text);
            eof = true;
        } else {
            normalizer.feed(std::string_view(buf, *n), text);
        }
        if (text.starts_with("\r\n"))
            end = 0;  // no header at all
        else
            end = text.find("\r\n\r\n", searched > 3 ? searched - 3 : 0);
        searched = text.size();
    }

    // Split into fields. The header ends at the blank line, or at the first
    // line that is neither a field nor a continuation (as Postfix's cleanup
    // does): that line starts the body.
    std::vector<Field> fields;
    std::size_t pos = 0;
    const std::size_t header_end = end == std::string::npos ? text.size() : end + 2;
    if (text.starts_with("From ")) pos = text.find("\r\n") + 2;  // an mbox separator, not a header
    while (pos < header_end) {
        const auto eol = text.find("\r\n", pos);
        const std::string_view line = std::string_view(text).substr(pos, eol - pos);
        if ((line.starts_with(' ') || line.starts_with('\t')) && !fields.empty()) {
            fields.back().raw.append(line).append("\r\n");
        } else if (auto name = field_name(line)) {
            fields.push_back(Field{std::string(*name), std::string(line) + "\r\n"});
        } else {
            break;
        }
        pos = eol + 2;
    }
    std::string body_start;
    if (pos < header_end) {
        body_start = "\r\n" + text.substr(pos);  // the separator the sender left out
    } else {
        body_start = end == std::string::npos ? "\r\n" : text.substr(header_end);
    }

    Preformed out;
    std::string head;
    bool has_from = false;
    bool has_date = false;
    bool has_message_id = false;
    bool has_reply_to = false;
    for (const auto& f : fields)
        if (iequals(f.name, "Reply-To")) has_reply_to = true;
    for (const auto& f : fields) {
        const std::string value = unfolded_value(f);
        auto take = [&](std::vector<Mailbox>& into) -> Result<void> {
            auto list = parse_address_list(value, f.name, EmptyList::allow);
            if (!list) return std::move(list).error();
            for (auto& m : *list) into.push_back(std::move(m));
            return {};
        };
        if (iequals(f.name, "Bcc") || iequals(f.name, "Resent-Bcc")) {
            if (iequals(f.name, "Bcc") && options.parse_recipients)
                if (auto r = take(out.bcc); !r) return std::move(r).error();
            continue;  // the whole point of Bcc
        }
        if (iequals(f.name, "From") && options.rewrite_from) {
            if (has_from) continue;  // one From only
            has_from = true;
            auto list = parse_address_list(value, f.name, EmptyList::allow);
            const bool parsed = list && !list->empty();
            if (parsed && iequals(list->front().local_part, default_from.local_part) &&
                iequals(list->front().ascii_domain, default_from.ascii_domain)) {
                out.from = list->front();
                head += f.raw;  // already the sender: nothing to rewrite
                continue;
            }
            Mailbox from = default_from;
            if (parsed && list->size() == 1 && !list->front().display_name.empty())
                from.display_name = list->front().display_name;
            out.from = from;
            HeaderField nf("From");
            nf.mailbox(from);
            head += std::move(nf).finish();
            if (parsed) {
                std::string kept(value);
                while (!kept.empty() && (kept.front() == ' ' || kept.front() == '\t'))
                    kept.erase(0, 1);
                out.original_from = kept;
                if (!has_reply_to) head += "Reply-To: " + kept + "\r\n";
            }
            continue;
        }
        if (iequals(f.name, "From")) {
            std::vector<Mailbox> from;
            if (auto r = take(from); !r) return std::move(r).error();
            if (from.empty()) return fail(Errc::invalid_input, "From: no address given");
            out.from = from.front();
            has_from = true;
        } else if (iequals(f.name, "To") && options.parse_recipients) {
            if (auto r = take(out.to); !r) return std::move(r).error();
        } else if (iequals(f.name, "Cc") && options.parse_recipients) {
            if (auto r = take(out.cc); !r) return std::move(r).error();
        } else if (iequals(f.name, "Subject")) {
            out.subject = value;
            while (!out.subject.empty() &&
                   (out.subject.front() == ' ' || out.subject.front() == '\t'))
                out.subject.erase(0, 1);
        } else if (iequals(f.name, "Date")) {
            has_date = true;
        } else if (iequals(f.name, "Message-ID")) {
            has_message_id = true;
            const auto l = value.find('<');
            const auto r = value.find('>', l);
            if (l != std::string::npos && r != std::string::npos)
                out.message_id = value.substr(l, r - l + 1);
        }
        head += f.raw;
    }
    if (!has_from) {
        out.from = default_from;
        out.added_from = true;
        HeaderField f("From");
        f.mailbox(default_from);
        head += std::move(f).finish();
    }
    if (!has_date) head += "Date: " + format_date(clock.now()) + "\r\n";
    if (!has_message_id) {
        out.message_id = "<" + random_hex(random, 16) + "@" + out.from.ascii_domain + ">";
        head += "Message-ID: " + out.message_id + "\r\n";
    }
    head += body_start;
    out.message =
        std::make_unique<PreformedSource>(std::move(head), std::move(input), normalizer, eof);
    return out;
}

}  // namespace pb::mime
