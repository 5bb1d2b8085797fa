// `postbridge serve` as a background process of a test: started on a state
// directory with its output appended to a log, waited for until it is up
// (it printed its Web Config URL), and killed, waiting until it has let go
// of the state (its lock on serve.lock), so that the next start finds it
// free. For tests that kill serve on purpose (crash and restart tests).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/peers.hpp"

namespace pb::test {

class ServeProcess {
  public:
    ServeProcess(std::filesystem::path state, std::string log)
        : state_(std::move(state)), log_(std::move(log)) {}
    ~ServeProcess() { kill(SIGKILL); }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    // `serve --web 127.0.0.1:0 ARGS`; fails the test when serve ends
    // before it is up (the log says why).
    void start(const std::string& args = "") {
        const auto before = urls_in_log();
        auto r =
            run_command(binary_path() + " --state " + state_.string() +
                        " serve --web 127.0.0.1:0 " + args + " >> " + log_ + " 2>&1 & echo $!");
        pid_ = std::stoi(r.out);
        for (int i = 0; i < 2400 && urls_in_log() == before && alive(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        ASSERT_TRUE(alive()) << "serve did not start: " << run_command("cat " + log_).out;
    }

    // Sends `signal`, then waits until serve is gone and its lock is free (a
    // killed process's files close when its last thread is gone, which may
    // be after its main thread shows as a zombie).
    void kill(int signal) {
        if (pid_ <= 0) return;
        ::kill(pid_, signal);
        const std::string lock = (state_ / "serve.lock").string();
        for (int i = 0; i < 2400; ++i) {
            const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
            const bool free = fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0;
            if (fd >= 0) ::close(fd);
            if (free && !alive()) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        pid_ = -1;
    }

    const std::string& log() const { return log_; }

  private:
    bool alive() const {
        std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
        std::string pid, comm, state;
        return stat >> pid >> comm >> state && state != "Z";
    }
    std::size_t urls_in_log() const {
        std::ifstream in(log_);
        std::size_t n = 0;
        for (std::string line; std::getline(in, line);)
            if (line.find("Web Config: ") != std::string::npos) ++n;
        return n;
    }

    std::filesystem::path state_;
    std::string log_;
    pid_t pid_ = -1;
};

}  // namespace pb::test
