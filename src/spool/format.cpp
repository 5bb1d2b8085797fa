// Writing and reading spool files (format.hpp has the layout).
#include "spool/format.hpp"

#include <array>
#include <cstring>

namespace pb::spool {
namespace {

constexpr std::size_t kHeader = 5;   // type + length
constexpr std::size_t kTrailer = 4;  // crc32

// CRC-32 (IEEE 802.3, as zlib): catches torn and bit-flipped records. It
// guards against accidents, not attackers; the spool directory is 0700.
// Eight bytes a step (slicing-by-8): every byte of a message passes here on
// each read, and the Graph transport reads a large one three times; a byte
// at a time was 40% of the CPU of a 100 MB send.
using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;
constexpr CrcTables make_crc_tables() {
    CrcTables t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
        t[0][i] = c;
    }
    // t[k][i]: the CRC of byte i followed by k zero bytes.
    for (std::size_t k = 1; k < t.size(); ++k)
        for (std::size_t i = 0; i < 256; ++i)
            t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFU];
    return t;
}
constexpr CrcTables kCrc = make_crc_tables();

std::uint32_t le32(const unsigned char* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::uint32_t crc32(std::span<const char> data, std::uint32_t crc = 0) {
    crc = ~crc;
    const auto* p = reinterpret_cast<const unsigned char*>(data.data());
    std::size_t n = data.size();
    for (; n >= 8; p += 8, n -= 8) {
        const std::uint32_t lo = crc ^ le32(p);
        const std::uint32_t hi = le32(p + 4);
        crc = kCrc[7][lo & 0xFFU] ^ kCrc[6][(lo >> 8) & 0xFFU] ^ kCrc[5][(lo >> 16) & 0xFFU] ^
              kCrc[4][lo >> 24] ^ kCrc[3][hi & 0xFFU] ^ kCrc[2][(hi >> 8) & 0xFFU] ^
              kCrc[1][(hi >> 16) & 0xFFU] ^ kCrc[0][hi >> 24];
    }
    for (; n > 0; ++p, --n) crc = kCrc[0][(crc ^ *p) & 0xFFU] ^ (crc >> 8);
    return ~crc;
}

void put_u32(char* p, std::uint32_t v) {
    for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xFFU);
}
void put_u64(char* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<char>(v & 0xFFU);
}
std::uint64_t get_be(const char* p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

// One record in `buf`, whose payload the caller has already placed at
// buf[kHeader..kHeader+length). Returns the whole record's bytes.
std::span<const char> seal_record(std::vector<char>& buf, char type, std::size_t length) {
    buf[0] = type;
    put_u32(buf.data() + 1, static_cast<std::uint32_t>(length));
    const auto crc = crc32({buf.data(), kHeader + length});
    put_u32(buf.data() + kHeader + length, crc);
    return {buf.data(), kHeader + length + kTrailer};
}

Result<void> write_record(FileOps& ops, int fd, std::vector<char>& buf, char type,
                          std::string_view payload) {
    std::memcpy(buf.data() + kHeader, payload.data(), payload.size());
    return ops.write(fd, seal_record(buf, type, payload.size()));
}

}  // namespace

Result<std::uint64_t> write_spool_file(FileOps& ops, const std::filesystem::path& path,
                                       const FileEnvelope& envelope, ByteSource& body) {
    for (const auto& a : envelope.recipients)
        if (a.size() > kMaxChunk)
            return fail(Errc::invalid_input, "a recipient address is too long");
    if (envelope.sender.size() > kMaxChunk)
        return fail(Errc::invalid_input, "the sender address is too long");
    std::string trace;
    if (envelope.trace) {
        const auto& t = *envelope.trace;
        if (4 + t.head.size() + t.tail.size() > kMaxChunk)
            return fail(Errc::invalid_input, "the trace header is too long");
        trace.resize(4);
        put_u32(trace.data(), static_cast<std::uint32_t>(t.head.size()));
        trace += t.head;
        trace += t.tail;
    }

    auto created = ops.create(path);
    if (!created) return created.error();
    Fd fd(ops, *created);
    // One buffer for every record: the body never exists in memory beyond
    // one chunk, whatever the message's size.
    std::vector<char> buf(kHeader + kMaxChunk + kTrailer);
    std::uint64_t size = 0;

    auto run = [&]() -> Result<void> {
        std::string head(kMagic);
        head.push_back(static_cast<char>(envelope.trace ? kVersion : 1));
        if (auto r = ops.write(fd.get(), head); !r) return r;
        if (auto r = write_record(ops, fd.get(), buf, 'F', envelope.sender); !r) return r;
        for (const auto& rcpt : envelope.recipients)
            if (auto r = write_record(ops, fd.get(), buf, 'R', rcpt); !r) return r;
        if (envelope.trace)
            if (auto r = write_record(ops, fd.get(), buf, 'T', trace); !r) return r;
        for (;;) {
            // Fill a whole chunk before writing it: sources may return a few
            // bytes at a time (a pipe), and records should not be tiny.
            std::size_t have = 0;
            while (have < kMaxChunk) {
                auto n = body.read({buf.data() + kHeader + have, kMaxChunk - have});
                if (!n) return n.error();
                if (*n == 0) break;
                have += *n;
            }
            if (have == 0) break;
            size += have;
            if (auto r = ops.write(fd.get(), seal_record(buf, 'B', have)); !r) return r;
            if (have < kMaxChunk) break;
        }
        std::array<char, 12> end{};
        put_u64(end.data(), size);
        put_u32(end.data() + 8, static_cast<std::uint32_t>(envelope.recipients.size()));
        if (auto r = write_record(ops, fd.get(), buf, 'E', {end.data(), end.size()}); !r) return r;
        return ops.fsync(fd.get());
    };
    if (auto r = run(); !r) {
        fd.reset();
        ops.remove(path);
        return r.error();
    }
    return size;
}

SpoolReader::SpoolReader(FileOps& ops, Fd fd, std::filesystem::path path)
    : ops_(ops), fd_(std::move(fd)), path_(std::move(path)) {}

Error SpoolReader::damaged(std::string_view why) const {
    return fail(Errc::spool_unwritable,
                "spool file " + path_.filename().string() + " is damaged: " + std::string(why));
}

Result<std::size_t> SpoolReader::take(std::span<char> out) {
    if (pos_ == len_) {
        // A request as large as the buffer goes straight to the caller; a
        // small one refills it, so a small message is one read, not a read
        // for each record's header, payload and checksum.
        if (out.size() >= kReadBuffer) return ops_.read(fd_.get(), out);
        if (!buffer_) buffer_ = std::make_unique_for_overwrite<char[]>(kReadBuffer);  // not zeroed
        auto n = ops_.read(fd_.get(), {buffer_.get(), kReadBuffer});
        if (!n) return n.error();
        pos_ = 0;
        len_ = *n;
        if (len_ == 0) return std::size_t{0};
    }
    const std::size_t n = std::min(out.size(), len_ - pos_);
    std::memcpy(out.data(), buffer_.get() + pos_, n);
    pos_ += n;
    return n;
}

Result<void> SpoolReader::fill(std::span<char> out) {
    std::size_t got = 0;
    while (got < out.size()) {
        auto n = take(out.subspan(got));
        if (!n) return n.error();
        if (*n == 0)
            return damaged(in_body_ ? "it ends before its END record"
                                    : "it ends inside its envelope");
        got += *n;
    }
    return {};
}

Result<SpoolReader::Record> SpoolReader::next_record() {
    std::array<char, kHeader> head{};
    if (auto r = fill(head); !r) return r.error();
    Record rec{head[0], static_cast<std::uint32_t>(get_be(head.data() + 1, 4))};
    if (rec.length > kMaxChunk) return damaged("a record is longer than the format allows");
    chunk_.resize(rec.length);
    chunk_pos_ = 0;
    if (auto r = fill(chunk_); !r) return r.error();
    std::array<char, kTrailer> crc{};
    if (auto r = fill(crc); !r) return r.error();
    const auto want = crc32(chunk_, crc32(head));
    if (get_be(crc.data(), 4) != want) return damaged("a record fails its checksum");
    return rec;
}

Result<std::unique_ptr<SpoolReader>> SpoolReader::open(FileOps& ops,
                                                       const std::filesystem::path& path) {
    auto fd = ops.open_read(path);
    if (!fd) return fd.error();
    std::unique_ptr<SpoolReader> r(new SpoolReader(ops, Fd(ops, *fd), path));
    std::array<char, kMagic.size() + 1> magic{};
    if (auto f = r->fill(magic); !f) return f.error();
    if (std::string_view(magic.data(), kMagic.size()) != kMagic)
        return r->damaged("it is not a spool file");
    const auto version = static_cast<std::uint8_t>(magic.back());
    if (version < 1 || version > kVersion)
        return r->damaged("format version " + std::to_string(version) +
                          " is not one this postbridge reads");
    bool have_sender = false;
    for (;;) {
        auto rec = r->next_record();
        if (!rec) return rec.error();
        const std::string_view payload(r->chunk_.data(), r->chunk_.size());
        if (rec->type == 'F' && !have_sender && r->envelope_.recipients.empty()) {
            r->envelope_.sender = payload;
            have_sender = true;
        } else if (rec->type == 'R' && have_sender && !r->envelope_.trace) {
            r->envelope_.recipients.emplace_back(payload);
        } else if (rec->type == 'T' && version >= 2 && have_sender && !r->envelope_.trace) {
            if (payload.size() < 4) return r->damaged("its trace record is malformed");
            const std::size_t head = get_be(payload.data(), 4);
            if (head > payload.size() - 4) return r->damaged("its trace record is malformed");
            r->envelope_.trace =
                Trace{std::string(payload.substr(4, head)), std::string(payload.substr(4 + head))};
        } else if ((rec->type == 'B' || rec->type == 'E') && have_sender) {
            r->in_body_ = true;
            if (rec->type == 'E') {
                if (auto e = r->end_record(); !e) return e.error();  // an empty message
            } else {
                r->body_bytes_ = r->chunk_.size();
            }
            return r;
        } else {
            return r->damaged(std::string("unexpected record '") + rec->type + "' in the envelope");
        }
    }
}

Result<void> SpoolReader::end_record() {
    if (chunk_.size() != 12 || get_be(chunk_.data(), 8) != body_bytes_ ||
        get_be(chunk_.data() + 8, 4) != envelope_.recipients.size())
        return damaged("its END record disagrees with its contents");
    std::array<char, 1> extra{};
    auto n = take(extra);
    if (!n) return n.error();
    if (*n != 0) return damaged("bytes follow its END record");
    chunk_.clear();
    chunk_pos_ = 0;
    ended_ = true;
    return {};
}

void SpoolReader::set_job(std::int64_t job) {
    if (!envelope_.trace) return;
    trace_ = envelope_.trace->head + std::to_string(job) + envelope_.trace->tail;
    trace_pos_ = 0;
}

Result<std::size_t> SpoolReader::read(std::span<char> out) {
    if (trace_pos_ < trace_.size()) {
        const std::size_t n = std::min(out.size(), trace_.size() - trace_pos_);
        std::memcpy(out.data(), trace_.data() + trace_pos_, n);
        trace_pos_ += n;
        return n;
    }
    while (chunk_pos_ == chunk_.size()) {
        if (ended_) return std::size_t{0};
        auto rec = next_record();
        if (!rec) return rec.error();
        if (rec->type == 'E') {
            if (auto e = end_record(); !e) return e.error();
            return std::size_t{0};
        }
        if (rec->type != 'B')
            return damaged(std::string("unexpected record '") + rec->type + "' in the message");
        body_bytes_ += chunk_.size();
    }
    const std::size_t n = std::min(out.size(), chunk_.size() - chunk_pos_);
    std::memcpy(out.data(), chunk_.data() + chunk_pos_, n);
    chunk_pos_ += n;
    return n;
}

Result<ScanResult> scan_spool_file(FileOps& ops, const std::filesystem::path& path) {
    auto reader = SpoolReader::open(ops, path);
    if (!reader) return reader.error();
    std::vector<char> sink(kMaxChunk);
    std::uint64_t size = 0;
    for (;;) {
        auto n = (*reader)->read(sink);
        if (!n) return n.error();
        if (*n == 0) break;
        size += *n;
    }
    return ScanResult{(*reader)->envelope(), size};
}

}  // namespace pb::spool
