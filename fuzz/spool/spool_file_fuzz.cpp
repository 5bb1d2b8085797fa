// The spool file reader on arbitrary bytes, and the writer and reader on
// arbitrary envelopes and messages, over files kept in memory.
//
// First byte even: the rest is a file. Reading it must never crash; a
// refusal is 651 naming the damage; a file the scan accepts reads back, in
// steps of any size (the read buffer meets record boundaries everywhere),
// to the same size.
// First byte odd: the rest is cut into a sender, recipients and a message,
// written with write_spool_file and read back: the same envelope and the
// same bytes, however they are read.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "spool/format.hpp"

namespace {

using pb::Result;

void check(bool ok) {
    if (!ok) std::abort();
}

// Files in a map; descriptors are indexes into `open_`.
class MemoryFileOps final : public pb::spool::FileOps {
  public:
    std::map<std::string, std::string> files;

    Result<int> create(const std::filesystem::path& p) override {
        if (files.count(p.string()) != 0U) return pb::fail(pb::Errc::spool_unwritable, "exists");
        files[p.string()];
        return add(p.string());
    }
    Result<int> open_read(const std::filesystem::path& p) override {
        if (files.count(p.string()) == 0U) return pb::fail(pb::Errc::spool_unwritable, "no file");
        return add(p.string());
    }
    Result<void> write(int fd, std::span<const char> data) override {
        files[open_[static_cast<std::size_t>(fd)].name].append(data.data(), data.size());
        return {};
    }
    Result<std::size_t> read(int fd, std::span<char> out) override {
        Open& o = open_[static_cast<std::size_t>(fd)];
        const std::string& f = files[o.name];
        const std::size_t n = std::min(out.size(), f.size() - std::min(o.pos, f.size()));
        if (n > 0) std::memcpy(out.data(), f.data() + o.pos, n);
        o.pos += n;
        return n;
    }
    Result<void> fsync(int) override { return {}; }
    void close(int) noexcept override {}
    Result<void> rename(const std::filesystem::path& from,
                        const std::filesystem::path& to) override {
        files[to.string()] = std::move(files[from.string()]);
        files.erase(from.string());
        return {};
    }
    Result<void> fsync_dir(const std::filesystem::path&) override { return {}; }
    void remove(const std::filesystem::path& p) noexcept override { files.erase(p.string()); }

  private:
    struct Open {
        std::string name;
        std::size_t pos = 0;
    };
    int add(std::string name) {
        open_.push_back({std::move(name), 0});
        return static_cast<int>(open_.size() - 1);
    }
    std::vector<Open> open_;
};

// Reads the message through in steps of `step` bytes.
Result<std::string> read_all(MemoryFileOps& ops, std::size_t step,
                             pb::spool::FileEnvelope* envelope = nullptr) {
    auto r = pb::spool::SpoolReader::open(ops, "m");
    if (!r) return r.error();
    if (envelope != nullptr) *envelope = (*r)->envelope();
    std::string out;
    std::vector<char> buf(step);
    for (;;) {
        auto n = (*r)->read(buf);
        if (!n) return n.error();
        if (*n == 0) return out;
        out.append(buf.data(), *n);
    }
}

void damaged_file(std::string_view bytes, std::size_t step) {
    MemoryFileOps ops;
    ops.files["m"] = std::string(bytes);
    auto scan = pb::spool::scan_spool_file(ops, "m");
    if (!scan) {
        check(scan.error().code == pb::Errc::spool_unwritable);
        check(scan.error().detail.find("damaged") != std::string::npos ||
              scan.error().detail.find("not a spool file") != std::string::npos);
        return;
    }
    auto again = read_all(ops, step);
    check(again.ok() && again->size() == scan->size);
}

void round_trip(std::string_view in, std::size_t step) {
    // sender NUL recipient NUL ... NUL NUL message
    pb::spool::FileEnvelope env;
    const std::size_t end = in.find(std::string_view("\0\0", 2));
    std::string_view head = in.substr(0, std::min(end, in.size()));
    const std::string_view body = end == std::string_view::npos ? "" : in.substr(end + 2);
    const std::size_t cut = head.find('\0');
    env.sender = std::string(head.substr(0, cut));
    while (cut != std::string_view::npos && !head.empty()) {
        head.remove_prefix(std::min(head.size(), head.find('\0') + 1));
        const std::size_t next = head.find('\0');
        env.recipients.emplace_back(head.substr(0, next));
        if (next == std::string_view::npos) break;
    }
    MemoryFileOps ops;
    pb::StringSource src{std::string(body)};
    auto size = pb::spool::write_spool_file(ops, "m", env, src);
    const auto too_long = [](const std::string& a) { return a.size() > pb::spool::kMaxChunk; };
    if (too_long(env.sender) ||
        std::any_of(env.recipients.begin(), env.recipients.end(), too_long)) {
        check(!size.ok() && size.error().code == pb::Errc::invalid_input);
        return;
    }
    check(size.ok() && *size == body.size());
    pb::spool::FileEnvelope seen;
    auto text = read_all(ops, step, &seen);
    check(text.ok() && *text == body);
    check(seen.sender == env.sender && seen.recipients == env.recipients);
    auto scan = pb::spool::scan_spool_file(ops, "m");
    check(scan.ok() && scan->size == body.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t step = 1 + data[1] % 97;  // odd sizes, smaller and larger than records
    const std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
    if (data[0] % 2 == 0)
        damaged_file(rest, step);
    else
        round_trip(rest, step);
    return 0;
}
