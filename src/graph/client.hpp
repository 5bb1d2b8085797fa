// Sends one spooled message through Microsoft Graph: the I/O edge around
// the pure core (requests.hpp, recipients.hpp, split.hpp, errors.hpp).
//
// - A message whose base64 fits one request goes to sendMail as base64
//   MIME, streamed from the spool (the header block adjusted so that Graph
//   sends to the envelope and nobody else; the rest byte for byte).
// - A larger one becomes a draft (MIME, without its large attachments),
//   each large attachment an upload session of ordered ranges of at most
//   4 MB PUT to the pre-authenticated uploadUrl (no Authorization), then the
//   draft is sent. The draft's id is written down (DraftLedger) before
//   anything is uploaded, so a draft left by a crash is deleted when the
//   job is tried again.
// - 429 and 503 are waited out as Retry-After says (bounded, a few times
//   per request) and are transient after that; a 401 gets one fresh token;
//   every request holds a slot of its mailbox (at most 4 at once, Graph's
//   limit) and has a timeout that grows with its body.
//
// Memory stays flat: the message is read three times at most (structure,
// draft, attachments) and never held whole; one range (4 MB) is the
// largest buffer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "core/source.hpp"
#include "oauth/http.hpp"

namespace pb::graph {

// The profile's access token for Graph (not the SMTP one: each is for its
// own resource). Errors are the sign-in's: 360/361/370, 642, 643.
class Tokens {
  public:
    virtual ~Tokens() = default;
    virtual Result<Secret> token() = 0;
    // After Graph refused `rejected` (401): a fresh one.
    virtual Result<Secret> after_rejection(const Secret& rejected) = 0;
};

// At most `limit` requests at once per mailbox, for every client of the
// process (Graph: 4 concurrent requests per app and mailbox).
class MailboxGate {
  public:
    explicit MailboxGate(int limit = 4) : limit_(limit) {}
    class Slot {
      public:
        Slot(MailboxGate& g, std::string mailbox);
        ~Slot();
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;

      private:
        MailboxGate& g_;
        std::string mailbox_;
    };
    // The most requests that were ever under way at once for one mailbox.
    int peak() const;

  private:
    int limit_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, int> busy_;
    int peak_ = 0;
};

// Where a job's draft id is written down while the draft exists.
class DraftLedger {
  public:
    virtual ~DraftLedger() = default;
    struct Entry {
        std::string mailbox;
        std::string id;
    };
    virtual std::optional<Entry> find(std::int64_t job) = 0;
    virtual Result<void> remember(std::int64_t job, const Entry& e) = 0;
    virtual void forget(std::int64_t job) = 0;
};

// One small file per job in a directory (the state directory's graph-drafts).
class FileDraftLedger final : public DraftLedger {
  public:
    explicit FileDraftLedger(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::optional<Entry> find(std::int64_t job) override;
    Result<void> remember(std::int64_t job, const Entry& e) override;
    void forget(std::int64_t job) override;

  private:
    std::filesystem::path dir_;
};

struct Options {
    std::string endpoint;  // graph.endpoint
    std::string mailbox;   // /users/{mailbox}: the sender, or `account` (shared mailbox)
    // How often one request is retried after 429/503 before the job is
    // handed back as transient (634/641).
    int max_throttle_waits = 5;
    // The pause when a 429/503 carries no Retry-After.
    std::chrono::seconds default_retry_after{5};
};

// Waits for a Retry-After; injected so tests do not sleep.
using Waiter = std::function<void(std::chrono::seconds)>;

struct Message {
    std::int64_t job = 0;
    std::vector<std::string> recipients;  // the envelope, pending ones only
    std::uint64_t size = 0;
    // A fresh reader of the message from its first byte (called up to three times).
    std::function<Result<std::unique_ptr<ByteSource>>()> open;
};

struct Outcome {
    std::optional<Error> error;
    // The message may have gone out although this failed (the answer to
    // sendMail or to the draft's send was lost): a retry may duplicate it.
    bool maybe_sent = false;
    std::string how;         // "sendMail" or "draft"
    std::string transcript;  // one line per request, no token, no body
};

class Client {
  public:
    Client(oauth::HttpClient& http, Tokens& tokens, MailboxGate& gate, DraftLedger& ledger,
           const Clock& clock, Waiter wait, Options options);
    Outcome send(const Message& m);

  private:
    // One request with the token, the mailbox slot, 401 once, 429/503 waits.
    Result<oauth::HttpResponse> call(const std::function<Result<oauth::HttpRequest>()>& make,
                                     bool authorized, std::string_view what, Outcome& out);
    Outcome send_mail(const Message& m, const std::string& header, std::uint64_t header_end);
    Outcome send_draft(const Message& m);
    void drop_leftover_draft(std::int64_t job, Outcome& out);

    oauth::HttpClient& http_;
    Tokens& tokens_;
    MailboxGate& gate_;
    DraftLedger& ledger_;
    const Clock& clock_;
    Waiter wait_;
    Options opt_;
};

// ---- streams (public for tests) ------------------------------------------

// The bytes `prefix`, then the pieces [begin, end) of `in` (ascending, read
// in one pass, the bytes between them skipped).
class PiecesSource final : public ByteSource {
  public:
    struct Piece {
        std::uint64_t begin = 0, end = 0;
    };
    PiecesSource(std::string prefix, ByteSource& in, std::vector<Piece> pieces);
    Result<std::size_t> read(std::span<char> out) override;
    std::optional<std::uint64_t> size_hint() const override { return size_; }

  private:
    std::string prefix_;
    std::size_t prefix_pos_ = 0;
    ByteSource& in_;
    std::vector<Piece> pieces_;
    std::size_t piece_ = 0;
    std::uint64_t at_ = 0;  // offset in `in`
    std::uint64_t size_ = 0;
    std::string skip_buf_;
};

// The base64 of another source, without line breaks (what Graph's MIME
// requests carry).
class Base64Source final : public ByteSource {
  public:
    Base64Source(ByteSource& in, std::uint64_t in_size) : in_(in), in_size_(in_size) {}
    Result<std::size_t> read(std::span<char> out) override;
    std::optional<std::uint64_t> size_hint() const override;

  private:
    ByteSource& in_;
    std::uint64_t in_size_;
    std::string raw_;      // read, not yet encoded (fewer than 3 bytes between reads)
    std::string encoded_;  // encoded, not yet handed out
    std::size_t encoded_pos_ = 0;
    bool eof_ = false;
};

}  // namespace pb::graph
