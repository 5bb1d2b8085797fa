// Where a message being received waits for its final dot: in memory while
// small, then in an unnamed file (unlinked at once, so a crash leaves
// nothing). The reply to the dot comes only after the spool has its own
// durable copy; this is only the buffer between the socket and the spool,
// so that a slow device never holds a spool writer (or a thread) open.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/source.hpp"

namespace pb::relay {

class Spill {
  public:
    explicit Spill(std::filesystem::path dir, std::size_t memory_limit = 256 * 1024);
    ~Spill();
    Spill(const Spill&) = delete;
    Spill& operator=(const Spill&) = delete;

    // 651 when the file cannot be made or written (disk full).
    Result<void> append(std::string_view bytes);
    std::uint64_t size() const { return size_; }
    // Everything appended, from the start; valid while this lives and until
    // clear().
    std::unique_ptr<ByteSource> source() const;
    // Ready for the next message.
    void clear();

  private:
    std::filesystem::path dir_;
    std::size_t memory_limit_;
    std::string memory_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

}  // namespace pb::relay
