// `postbridge serve` as a background process of a test: started on a state
// directory with its output appended to a log, waited for until it is up
// (its READY=1 on a notification socket the test holds, as systemd would),
// and killed, waiting until it is gone and so has let go of the state (its
// lock on serve.lock), so that the next start finds it free. For tests that
// kill serve on purpose (crash and restart tests). Waits on events, never on
// time: the process's pidfd and the socket.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "support/notify_socket.hpp"
#include "support/peers.hpp"

namespace pb::test {

class ServeProcess {
  public:
    // `wrapper`: a command serve runs under (tests/faults/isolate.py ... --,
    // in a mount namespace of its own).
    ServeProcess(std::filesystem::path state, std::string log, std::string wrapper = "")
        : state_(std::move(state)),
          log_(std::move(log)),
          wrapper_(std::move(wrapper)),
          notify_("serve-process") {}
    ~ServeProcess() { kill(SIGKILL); }
    ServeProcess(const ServeProcess&) = delete;
    ServeProcess& operator=(const ServeProcess&) = delete;

    // `serve --web 127.0.0.1:0 ARGS`, until it says READY=1 (its spool, Web
    // Config and relay are up); fails the test when serve ends first (the
    // log says why).
    void start(const std::string& args = "") {
        auto r = run_command("NOTIFY_SOCKET=" + notify_.name() + " " + wrapper_ + binary_path() +
                             " --state " + state_.string() + " serve --web 127.0.0.1:0 " + args +
                             " >> " + log_ + " 2>&1 & echo $!");
        pid_ = std::stoi(r.out);
        pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
        ASSERT_GE(pidfd_, 0) << "pidfd_open";
        for (std::string said = notify_.next(pidfd_);; said = notify_.next(pidfd_)) {
            if (said.empty()) {  // serve ended
                kill(SIGKILL);
                FAIL() << "serve did not start: " << run_command("cat " + log_).out;
            }
            if (said.find("READY=1") != std::string::npos) return;
        }
    }

    // SIGHUP, as systemctl reload sends it, and until serve says READY=1
    // again: the settings as they are now are the ones it uses.
    void reload() {
        ASSERT_GT(pid_, 0) << "serve is not running";
        ::kill(pid_, SIGHUP);
        for (std::string said = notify_.next(pidfd_);; said = notify_.next(pidfd_)) {
            ASSERT_FALSE(said.empty()) << "serve ended: " << run_command("cat " + log_).out;
            if (said.find("READY=1") != std::string::npos) return;
        }
    }

    // Sends `signal`, then waits until serve is gone. Its pidfd is readable
    // once the whole process has ended, every thread, and with it every
    // file it held: serve.lock is free then.
    void kill(int signal) {
        if (pid_ <= 0) return;
        ::kill(pid_, signal);
        if (pidfd_ >= 0) {
            pollfd gone{pidfd_, POLLIN, 0};
            while (::poll(&gone, 1, -1) < 0 && errno == EINTR) {
            }
            ::close(pidfd_);
        }
        pid_ = -1;
        pidfd_ = -1;
    }

    const std::string& log() const { return log_; }

  private:
    std::filesystem::path state_;
    std::string log_;
    std::string wrapper_;
    NotifySocket notify_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
};

}  // namespace pb::test
