// Graph sends at the edge (client.hpp).
#include "graph/client.hpp"

#include <algorithm>
#include <fstream>
#include <system_error>

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "graph/errors.hpp"
#include "graph/recipients.hpp"
#include "graph/requests.hpp"
#include "graph/split.hpp"
#include "oauth/url.hpp"

namespace pb::graph {
namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kMaxHeader = 1024 * 1024;

// The path of a URL, for the transcript: never its query (an upload URL's
// query is its credential).
std::string path_of(const std::string& url) {
    const auto u = oauth::parse_url(url);
    return u ? u->path : std::string("(url)");
}

std::string_view method_name(oauth::HttpRequest::Method m) {
    switch (m) {
        case oauth::HttpRequest::Method::get:
            return "GET";
        case oauth::HttpRequest::Method::post:
            return "POST";
        case oauth::HttpRequest::Method::put:
            return "PUT";
        case oauth::HttpRequest::Method::del:
            return "DELETE";
    }
    return "?";
}

// Reads the message's header block (up to and including its empty line).
Result<std::string> read_header(ByteSource& in) {
    std::string buf;
    char chunk[4096];
    for (;;) {
        if (auto end = header_end(buf); end != std::string::npos) {
            buf.resize(end);
            return buf;
        }
        if (buf.size() > kMaxHeader)
            return fail(Errc::invalid_input, "the message's header is over 1 MB");
        auto n = in.read(chunk);
        if (!n) return std::move(n).error();
        if (*n == 0) return fail(Errc::invalid_input, "the message has no body separator");
        buf.append(chunk, *n);
    }
}

// A source over bytes it does not own: a range of an attachment goes out
// without a copy (two copies of 4 MB were a third of the peak memory).
class ViewSource final : public ByteSource {
  public:
    explicit ViewSource(std::string_view v) : v_(v) {}
    Result<std::size_t> read(std::span<char> out) override {
        const std::size_t n = std::min(out.size(), v_.size());
        std::copy_n(v_.data(), n, out.data());
        v_.remove_prefix(n);
        return n;
    }
    std::optional<std::uint64_t> size_hint() const override { return v_.size(); }

  private:
    std::string_view v_;
};

Error with_step(Error e, std::string_view what) {
    e.detail = fmt::format("{} ({})", e.detail, what);
    return e;
}

}  // namespace

// ---- the mailbox gate --------------------------------------------------------

MailboxGate::Slot::Slot(MailboxGate& g, std::string mailbox) : g_(g), mailbox_(std::move(mailbox)) {
    std::unique_lock lock(g_.mu_);
    g_.cv_.wait(lock, [&] { return g_.busy_[mailbox_] < g_.limit_; });
    g_.peak_ = std::max(g_.peak_, ++g_.busy_[mailbox_]);
}

MailboxGate::Slot::~Slot() {
    {
        std::lock_guard lock(g_.mu_);
        if (--g_.busy_[mailbox_] == 0) g_.busy_.erase(mailbox_);
    }
    g_.cv_.notify_all();
}

int MailboxGate::peak() const {
    std::lock_guard lock(mu_);
    return peak_;
}

// ---- the draft ledger --------------------------------------------------------

std::optional<DraftLedger::Entry> FileDraftLedger::find(std::int64_t job) {
    std::ifstream f(dir_ / std::to_string(job));
    Entry e;
    if (!f || !std::getline(f, e.mailbox) || !std::getline(f, e.id) || e.id.empty())
        return std::nullopt;
    return e;
}

Result<void> FileDraftLedger::remember(std::int64_t job, const Entry& e) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    const auto path = dir_ / std::to_string(job);
    const auto tmp = dir_ / (std::to_string(job) + ".tmp");
    {
        std::ofstream f(tmp, std::ios::trunc);
        f << e.mailbox << "\n" << e.id << "\n";
        f.flush();
        if (!f) return fail(Errc::spool_unwritable, "cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec)
        return fail(Errc::spool_unwritable, "cannot write " + path.string() + ": " + ec.message());
    return {};
}

void FileDraftLedger::forget(std::int64_t job) {
    std::error_code ec;
    std::filesystem::remove(dir_ / std::to_string(job), ec);
}

// ---- streams -------------------------------------------------------------------

PiecesSource::PiecesSource(std::string prefix, ByteSource& in, std::vector<Piece> pieces)
    : prefix_(std::move(prefix)), in_(in), pieces_(std::move(pieces)) {
    size_ = prefix_.size();
    for (const auto& p : pieces_) size_ += p.end - p.begin;
}

Result<std::size_t> PiecesSource::read(std::span<char> out) {
    if (prefix_pos_ < prefix_.size()) {
        const std::size_t n = std::min(out.size(), prefix_.size() - prefix_pos_);
        std::copy_n(prefix_.data() + prefix_pos_, n, out.data());
        prefix_pos_ += n;
        return n;
    }
    while (piece_ < pieces_.size()) {
        const Piece& p = pieces_[piece_];
        if (at_ >= p.end) {
            ++piece_;
            continue;
        }
        if (at_ < p.begin) {  // skip to the piece
            skip_buf_.resize(kChunk);
            const auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, p.begin - at_));
            auto n = in_.read(std::span<char>(skip_buf_.data(), want));
            if (!n) return std::move(n).error();
            if (*n == 0) return fail(Errc::spool_unwritable, "the message ended early");
            at_ += *n;
            continue;
        }
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), p.end - at_));
        auto n = in_.read(out.first(want));
        if (!n) return std::move(n).error();
        if (*n == 0) return fail(Errc::spool_unwritable, "the message ended early");
        at_ += *n;
        return *n;
    }
    return std::size_t{0};
}

std::optional<std::uint64_t> Base64Source::size_hint() const {
    return (in_size_ + 2) / 3 * 4;
}

Result<std::size_t> Base64Source::read(std::span<char> out) {
    while (encoded_pos_ == encoded_.size()) {
        if (eof_) return std::size_t{0};
        encoded_.clear();
        encoded_pos_ = 0;
        const std::size_t have = raw_.size();
        raw_.resize(have + kChunk);
        auto n = in_.read(std::span<char>(raw_.data() + have, kChunk));
        if (!n) return std::move(n).error();
        raw_.resize(have + *n);
        if (*n == 0) eof_ = true;
        const std::size_t whole = eof_ ? raw_.size() : raw_.size() / 3 * 3;
        base64_append(as_bytes(std::string_view(raw_).substr(0, whole)), encoded_);
        raw_.erase(0, whole);
    }
    const std::size_t n = std::min(out.size(), encoded_.size() - encoded_pos_);
    std::copy_n(encoded_.data() + encoded_pos_, n, out.data());
    encoded_pos_ += n;
    return n;
}

// ---- the client --------------------------------------------------------------------

Client::Client(oauth::HttpClient& http, Tokens& tokens, MailboxGate& gate, DraftLedger& ledger,
               const Clock& clock, Waiter wait, Options options)
    : http_(http),
      tokens_(tokens),
      gate_(gate),
      ledger_(ledger),
      clock_(clock),
      wait_(std::move(wait)),
      opt_(std::move(options)) {}

Result<oauth::HttpResponse> Client::call(const std::function<Result<oauth::HttpRequest>()>& make,
                                         bool authorized, std::string_view what, Outcome& out) {
    std::optional<Secret> token;
    if (authorized) {
        auto t = tokens_.token();
        if (!t) return std::move(t).error();
        token = std::move(*t);
    }
    bool refreshed = false;
    int waits = 0;
    for (;;) {
        auto req = make();
        if (!req) return std::move(req).error();
        if (token) req->authorization = Secret("Bearer " + std::string(token->reveal()));
        Result<oauth::HttpResponse> r = [&] {
            MailboxGate::Slot slot(gate_, opt_.mailbox);
            return http_.send(*req);
        }();
        if (!r) {
            out.transcript += fmt::format("{} {} -> {}\n", method_name(req->method),
                                          path_of(req->url), r.error().describe());
            Error e = std::move(r).error();
            // Graph is the mail service here, not an identity provider.
            if (e.code == Errc::identity_provider_unavailable)
                e.code = Errc::mail_service_unavailable;
            return with_step(std::move(e), what);
        }
        out.transcript +=
            fmt::format("{} {} -> {}\n", method_name(req->method), path_of(req->url), r->status);
        if (r->status >= 200 && r->status < 300) return r;
        Failure f = classify(r->status, r->body.reveal(), r->retry_after, clock_.now(), what);
        if (f.token_refused && authorized && !refreshed) {
            auto t = tokens_.after_rejection(*token);
            if (!t) return std::move(t).error();
            token = std::move(*t);
            refreshed = true;
            continue;
        }
        if ((r->status == 429 || r->status == 503) && waits < opt_.max_throttle_waits) {
            ++waits;
            wait_(f.retry_after.value_or(opt_.default_retry_after));
            continue;
        }
        return f.error;
    }
}

void Client::drop_leftover_draft(std::int64_t job, Outcome& out) {
    auto e = ledger_.find(job);
    if (!e) return;
    const Urls urls{opt_.endpoint, e->mailbox};
    auto r = call(
        [&]() -> Result<oauth::HttpRequest> {
            oauth::HttpRequest q;
            q.method = oauth::HttpRequest::Method::del;
            q.url = urls.message(e->id);
            return q;
        },
        true, "deleting the draft of an earlier attempt", out);
    // Gone already (sent, or deleted by hand) is as good as deleted.
    if (r || r.error().code == Errc::mail_service_unavailable ||
        r.error().code == Errc::graph_request_refused)
        ledger_.forget(job);
}

Outcome Client::send(const Message& m) {
    Outcome out;
    if (auto ok = check_endpoint(opt_.endpoint); !ok) {
        out.error = ok.error();
        return out;
    }
    drop_leftover_draft(m.job, out);
    auto first = m.open();
    if (!first) {
        out.error = std::move(first).error();
        return out;
    }
    auto header = read_header(**first);
    if (!header) {
        out.error = std::move(header).error();
        return out;
    }
    if (fits_one_request(m.size)) {
        auto plan = plan_recipients(*header, m.recipients);
        if (!plan) {
            out.error = std::move(plan).error();
            return out;
        }
        if (fits_one_request(m.size - header->size() + plan->header.size())) {
            Outcome sent = send_mail(m, plan->header, header->size());
            sent.transcript = out.transcript + sent.transcript;
            return sent;
        }
    }
    Outcome sent = send_draft(m);
    sent.transcript = out.transcript + sent.transcript;
    return sent;
}

namespace {

// A POST of the message as base64 MIME (sendMail, or a draft made from
// MIME): `header`, then `pieces` of the spool's bytes, `raw_size` bytes in
// all before base64. Each post() opens the message again, so that a retried
// request reads it from its start; the body lives until the next post().
class MimeBody {
  public:
    Result<oauth::HttpRequest> post(const Message& m, const std::string& header,
                                    std::vector<PiecesSource::Piece> pieces, std::uint64_t raw_size,
                                    std::string url) {
        auto in = m.open();
        if (!in) return std::move(in).error();
        b64_.reset();
        raw_.reset();
        reader_ = std::move(*in);
        raw_ = std::make_unique<PiecesSource>(header, *reader_, std::move(pieces));
        b64_ = std::make_unique<Base64Source>(*raw_, raw_size);
        oauth::HttpRequest q;
        q.method = oauth::HttpRequest::Method::post;
        q.url = std::move(url);
        q.content_type = "text/plain";
        q.source = b64_.get();
        q.source_size = *b64_->size_hint();
        q.timeout = request_timeout(q.source_size);
        return q;
    }

  private:
    std::unique_ptr<ByteSource> reader_;
    std::unique_ptr<PiecesSource> raw_;
    std::unique_ptr<Base64Source> b64_;
};

}  // namespace

Outcome Client::send_mail(const Message& m, const std::string& header, std::uint64_t header_end) {
    Outcome out;
    out.how = "sendMail";
    const Urls urls{opt_.endpoint, opt_.mailbox};
    const std::uint64_t raw_size = m.size - header_end + header.size();
    MimeBody mime;
    auto r = call(
        [&] {
            return mime.post(m, header, {{header_end, m.size}}, raw_size, urls.send_mail());
        },
        true, "sending with sendMail", out);
    if (!r) {
        out.error = std::move(r).error();
        // A lost answer to a request that was all sent: Graph may have taken it.
        out.maybe_sent =
            out.error->code == Errc::timed_out || out.error->code == Errc::mail_service_unavailable;
    }
    return out;
}

Outcome Client::send_draft(const Message& m) {
    Outcome out;
    out.how = "draft";
    const Urls urls{opt_.endpoint, opt_.mailbox};

    // Pass 1: the structure.
    Structure s;
    {
        auto in = m.open();
        if (!in) {
            out.error = std::move(in).error();
            return out;
        }
        MimeScanner scanner;
        std::string buf(kChunk, '\0');
        for (;;) {
            auto n = (*in)->read(buf);
            if (!n) {
                out.error = std::move(n).error();
                return out;
            }
            if (*n == 0) break;
            scanner.put(std::string_view(buf).substr(0, *n));
        }
        s = scanner.finish();
    }
    auto plan = plan_split(s);
    if (!plan) {
        out.error = std::move(plan).error();
        return out;
    }
    // The header Graph gets: the envelope's recipients (recipients.hpp).
    std::string header;
    {
        auto in = m.open();
        if (!in) {
            out.error = std::move(in).error();
            return out;
        }
        auto h = read_header(**in);
        if (!h) {
            out.error = std::move(h).error();
            return out;
        }
        auto rp = plan_recipients(*h, m.recipients);
        if (!rp) {
            out.error = std::move(rp).error();
            return out;
        }
        header = std::move(rp->header);
        if (h->size() != s.header_end) {
            out.error =
                fail(Errc::invalid_input, "the message's header could not be read twice alike");
            return out;
        }
    }
    std::vector<PiecesSource::Piece> pieces;
    std::uint64_t draft_raw = header.size();
    for (const Piece& p : plan->draft) {
        const std::uint64_t b = std::max(p.begin, s.header_end);
        if (b >= p.end) continue;
        pieces.push_back({b, p.end});
        draft_raw += p.end - b;
    }
    if (!fits_one_request(draft_raw)) {
        out.error = fail(Errc::graph_cannot_split,
                         "the message without its attachments is still over 4 MB");
        return out;
    }

    // Pass 2: the draft.
    MimeBody mime;
    auto created = call([&] { return mime.post(m, header, pieces, draft_raw, urls.messages()); },
                        true, "creating the draft", out);
    if (!created) {
        out.error = std::move(created).error();
        return out;
    }
    auto id = parse_message_id(created->body.reveal());
    if (!id) {
        out.error = std::move(id).error();
        return out;
    }
    if (auto r = ledger_.remember(m.job, {opt_.mailbox, *id}); !r) {
        out.error = std::move(r).error();
        return out;
    }

    // Pass 3: the attachments, in message order, each in ordered ranges.
    auto in = m.open();
    if (!in) {
        out.error = std::move(in).error();
        return out;
    }
    std::uint64_t at = 0;
    std::string buf(kChunk, '\0');
    std::string decoded;
    for (std::size_t index : plan->uploads) {
        const Part& part = s.parts[index];
        const AttachmentItem item = attachment_item(part, index);
        auto session_r = call(
            [&]() -> Result<oauth::HttpRequest> {
                oauth::HttpRequest q;
                q.method = oauth::HttpRequest::Method::post;
                q.url = urls.upload_session(*id);
                q.content_type = "application/json";
                q.body = Secret(upload_session_body(item));
                return q;
            },
            true, "creating an upload session", out);
        if (!session_r) {
            out.error = std::move(session_r).error();
            return out;
        }
        auto session = parse_upload_session(session_r->body.reveal());
        if (!session) {
            out.error = std::move(session).error();
            return out;
        }
        std::uint64_t next = session->next;
        if (next != 0) {
            out.error =
                fail(Errc::mail_service_unavailable, "a new upload session did not start at 0");
            return out;
        }
        Base64Decoder decoder;
        decoded.clear();
        // PUTs one range from the front of `decoded`.
        auto put_range = [&](std::size_t n) -> Result<void> {
            const Range range{next, next + n - 1};
            std::optional<ViewSource> bytes;
            auto r = call(
                [&]() -> Result<oauth::HttpRequest> {
                    oauth::HttpRequest q;
                    q.method = oauth::HttpRequest::Method::put;
                    q.url = session->upload_url;
                    q.content_type = "application/octet-stream";
                    bytes.emplace(std::string_view(decoded).substr(0, n));
                    q.source = &*bytes;
                    q.source_size = n;
                    q.headers.emplace_back("Content-Range", content_range(range, item.size));
                    q.timeout = request_timeout(n);
                    return q;
                },
                false, "uploading an attachment", out);
            if (!r) return std::move(r).error();
            decoded.erase(0, n);
            next += n;
            if (next < item.size) {
                auto expected = parse_next_expected(r->body.reveal());
                if (!expected) return std::move(expected).error();
                if (*expected != next)
                    return fail(
                        Errc::mail_service_unavailable,
                        fmt::format("the upload session expects byte {}, not {}", *expected, next));
            }
            return {};
        };
        while (at < part.end) {
            std::size_t want = kChunk;
            if (at < part.body_begin)
                want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, part.body_begin - at));
            else
                want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, part.end - at));
            auto n = (*in)->read(std::span<char>(buf.data(), want));
            if (!n) {
                out.error = std::move(n).error();
                return out;
            }
            if (*n == 0) {
                out.error = fail(Errc::spool_unwritable, "the message ended early");
                return out;
            }
            const bool body = at >= part.body_begin;
            at += *n;
            if (!body) continue;
            if (!decoder.put(std::string_view(buf).substr(0, *n), decoded)) {
                out.error = fail(Errc::graph_cannot_split,
                                 fmt::format("the base64 of attachment {} is broken", item.name));
                return out;
            }
            while (decoded.size() >= kMaxRangeBytes)
                if (auto r = put_range(static_cast<std::size_t>(kMaxRangeBytes)); !r) {
                    out.error = std::move(r).error();
                    return out;
                }
        }
        if (!decoder.finish(decoded)) {
            out.error = fail(Errc::graph_cannot_split,
                             fmt::format("the base64 of attachment {} is cut short", item.name));
            return out;
        }
        while (!decoded.empty())
            if (auto r =
                    put_range(std::min(decoded.size(), static_cast<std::size_t>(kMaxRangeBytes)));
                !r) {
                out.error = std::move(r).error();
                return out;
            }
        if (next != item.size) {
            out.error = fail(Errc::graph_cannot_split,
                             fmt::format("attachment {} decoded to {} bytes, not {}", item.name,
                                         next, item.size));
            return out;
        }
    }

    // Send the draft. Exchange saves it to Sent Items whatever
    // save_to_sent_items says (the docs of message: send).
    auto sent = call(
        [&]() -> Result<oauth::HttpRequest> {
            oauth::HttpRequest q;
            q.method = oauth::HttpRequest::Method::post;
            q.url = urls.send_draft(*id);
            q.content_type = "application/json";
            return q;
        },
        true, "sending the draft", out);
    if (!sent) {
        out.error = std::move(sent).error();
        out.maybe_sent =
            out.error->code == Errc::timed_out || out.error->code == Errc::mail_service_unavailable;
        return out;
    }
    ledger_.forget(m.job);
    return out;
}

}  // namespace pb::graph
