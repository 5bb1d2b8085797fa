// Where the messages of jobs are kept, apart from the queue's rows: written
// whole and durable before their job is committed, read as a stream when
// the job is sent, removed once its result is durable. Every backend of the
// queue (spool.hpp) has one; the local one keeps files (FileBodyStore).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/source.hpp"
#include "spool/file_ops.hpp"
#include "spool/format.hpp"

namespace pb::spool {

struct StoredBody {
    std::string name;        // the job's reference to it (Job::file)
    std::uint64_t size = 0;  // the message's bytes, without the envelope
};

class BodyStore {
  public:
    virtual ~BodyStore() = default;
    // Streams `body` with its envelope under a new name and makes it
    // durable. On failure nothing is left; the error is 651 (or the body
    // source's own).
    virtual Result<StoredBody> write(const FileEnvelope& envelope, ByteSource& body) = 0;
    // The message as it is sent (the trace header with `job` in it, then
    // the message), checked whole first: damage is found before the first
    // byte goes out, not halfway through DATA. A damaged body is 651 "damaged".
    virtual Result<std::unique_ptr<ByteSource>> read(const std::string& name, std::uint64_t size,
                                                     std::int64_t job) = 0;
    // No error when it is already gone.
    virtual void remove(const std::string& name) noexcept = 0;
    // Puts a damaged body aside for a person to look at. Returns the words
    // for the job's detail: where it is kept, or why it could not be moved.
    virtual std::string quarantine(const std::string& name) = 0;
    // Removes the bodies older than `age` that `known` says belong to no
    // job (a crash between writing one and committing its job). Returns how
    // many went.
    virtual Result<std::size_t> sweep(const std::function<Result<bool>(const std::string&)>& known,
                                      Duration age) = 0;
    // Whether a body can be written now ("" when so; else what is wrong):
    // what Web Config's readiness check asks.
    virtual std::string problem() = 0;
};

// Files in a directory (the state directory's spool/):
//
//   tmp/         bodies being written
//   msg/         whole bodies (format.hpp), renamed here once synced
//   quarantine/  damaged ones, kept for a person to look at
class FileBodyStore final : public BodyStore {
  public:
    static Result<std::unique_ptr<FileBodyStore>> open(const std::filesystem::path& dir,
                                                       FileOps& ops, Random& rng);

    Result<StoredBody> write(const FileEnvelope& envelope, ByteSource& body) override;
    Result<std::unique_ptr<ByteSource>> read(const std::string& name, std::uint64_t size,
                                             std::int64_t job) override;
    void remove(const std::string& name) noexcept override;
    std::string quarantine(const std::string& name) override;
    Result<std::size_t> sweep(const std::function<Result<bool>(const std::string&)>& known,
                              Duration age) override;
    std::string problem() override;

    const std::filesystem::path& dir() const noexcept { return dir_; }

  private:
    FileBodyStore(std::filesystem::path dir, FileOps& ops, Random& rng)
        : dir_(std::move(dir)), ops_(ops), rng_(rng) {}
    Result<std::string> new_name();

    std::filesystem::path dir_;
    FileOps& ops_;
    std::mutex rng_mu_;  // Random is not thread-safe
    Random& rng_;
};

}  // namespace pb::spool
