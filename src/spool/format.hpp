// The spool file: one message with its envelope, as typed records that end
// with an explicit END record (the Postfix queue file's discipline).
//
//   file    = magic "PBSPOOL" version(1 byte) record*
//   record  = type(1) length(u32 BE) payload crc32(u32 BE, over type, length
//             and payload)
//   types   F  envelope sender (may be empty: the null sender)
//           R  one recipient
//           T  a trace header written before the message when it is sent
//              (version 2): head length (u32 BE), head, tail; the job's
//              number goes between head and tail (the relay's Received:)
//           B  a chunk of the message, at most 64 KiB
//           E  END: message bytes (u64 BE) and recipient count (u32 BE)
//
// A file that ends before E, has a bad checksum, a record of unknown type,
// or an E whose counts disagree is damaged and is never sent: the reader
// fails rather than hand out a truncated message. Bumping `kVersion` is how
// a future layout announces itself; readers refuse versions they do not
// know instead of guessing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/source.hpp"
#include "spool/file_ops.hpp"

namespace pb::spool {

inline constexpr std::string_view kMagic = "PBSPOOL";
// Version 2 adds the T record; a file without one is still written as
// version 1, so that most files stay readable by an older postbridge.
inline constexpr std::uint8_t kVersion = 2;
inline constexpr std::size_t kMaxChunk = 64 * 1024;

// A header line (folded, CRLF-terminated) that names the job it belongs
// to, whose number is not known until the file is in place.
struct Trace {
    std::string head;  // up to the job's number
    std::string tail;  // after it, through the final CRLF
    bool operator==(const Trace&) const = default;
};

struct FileEnvelope {
    std::string sender;
    std::vector<std::string> recipients;
    std::optional<Trace> trace = {};  // (a default: most files have none)
};

// Streams `body` into a new file at `path` (which must not exist) and makes
// it durable: every byte written and the file fsynced before this returns.
// The caller renames it into place and fsyncs the directory. On failure the
// partial file is removed. Returns the message's size in bytes.
Result<std::uint64_t> write_spool_file(FileOps& ops, const std::filesystem::path& path,
                                       const FileEnvelope& envelope, ByteSource& body);

// Reads a spool file: the envelope at open, then the message as a stream.
// read() fails (651, "damaged") on any damage, including a missing END at
// the end of the message, so a transport never finishes sending a message
// whose file is incomplete.
class SpoolReader final : public ByteSource {
  public:
    static Result<std::unique_ptr<SpoolReader>> open(FileOps& ops,
                                                     const std::filesystem::path& path);
    ~SpoolReader() override = default;

    const FileEnvelope& envelope() const noexcept { return envelope_; }
    // The message as it is sent: the trace header, when the file has one,
    // with `job` in it, then the message as stored. Without a call, only
    // the stored message (what the E record counts).
    void set_job(std::int64_t job);
    Result<std::size_t> read(std::span<char> out) override;
    // From the size the caller recorded at intake (the file's E record is
    // only reached at the end), plus the trace header's.
    std::optional<std::uint64_t> size_hint() const override {
        if (!size_) return std::nullopt;
        return *size_ + trace_.size();  // all of it, however much is read
    }
    void set_size_hint(std::uint64_t size) { size_ = size; }

  private:
    SpoolReader(FileOps& ops, Fd fd, std::filesystem::path path);
    struct Record {
        char type = 0;
        std::uint32_t length = 0;
    };
    // Reads the next whole record into chunk_, checking its checksum.
    Result<Record> next_record();
    // Up to out.size() bytes, through the read buffer; 0 at the file's end.
    Result<std::size_t> take(std::span<char> out);
    Result<void> fill(std::span<char> out);  // exactly out.size() bytes or damage
    Error damaged(std::string_view why) const;
    Result<void> end_record();  // checks the E record in chunk_ and that nothing follows

    FileOps& ops_;
    Fd fd_;
    std::filesystem::path path_;
    FileEnvelope envelope_;
    std::string trace_;  // the trace header as sent (set_job)
    std::size_t trace_pos_ = 0;
    std::optional<std::uint64_t> size_;
    static constexpr std::size_t kReadBuffer = 8 * 1024;
    std::unique_ptr<char[]> buffer_;  // read ahead of the records; made at the first read
    std::size_t pos_ = 0;             // next unread byte in buffer_
    std::size_t len_ = 0;             // bytes in buffer_
    std::vector<char> chunk_;         // the current record's payload
    std::size_t chunk_pos_ = 0;
    std::uint64_t body_bytes_ = 0;
    bool in_body_ = false;  // the envelope records are behind us
    bool ended_ = false;
};

// Reads the whole file once and checks every record and the END record:
// what intake-side recovery and delivery run before a job is sent. Returns
// the envelope and the message size.
struct ScanResult {
    FileEnvelope envelope;
    std::uint64_t size = 0;
};
Result<ScanResult> scan_spool_file(FileOps& ops, const std::filesystem::path& path);

}  // namespace pb::spool
