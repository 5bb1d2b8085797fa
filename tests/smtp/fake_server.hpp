// A scripted SMTP server in the test process: plain TCP on 127.0.0.1, port
// 0, replies chosen by the command's first word. Enough to play servers the
// real peers cannot (one that hides STARTTLS, one that never answers, one
// that drops an idle connection), with no Asio in the tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

namespace pb::smtp::test {

// A plain server that takes every message: EHLO with PIPELINING, MAIL,
// RCPT, DATA, end of data and QUIT all answered with success.
std::map<std::string, std::string> accepting_script();

class FakeServer {
  public:
    // replies: verb ("EHLO", "MAIL", ...) -> reply bytes. The body after a
    // 354 is collected until CRLF.CRLF and answered with replies["."].
    // "VERB#N" answers the Nth VERB of a connection instead (counting from
    // 1); the reply `hang_up` closes the connection without a word.
    // An empty greeting means: accept, then say nothing. `connections` are
    // served one after another, each with the same script.
    FakeServer(std::string greeting, std::map<std::string, std::string> replies,
               int connections = 1);
    static constexpr const char* hang_up = "<hang up>";
    ~FakeServer();
    FakeServer(const FakeServer&) = delete;
    FakeServer& operator=(const FakeServer&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    // Everything the client sent; call after the client is done.
    std::string received();

  private:
    void serve();
    // One connection; false when the server is to stop.
    bool serve_one(int fd);

    std::string greeting_;
    std::map<std::string, std::string> replies_;
    int connections_ = 1;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::string received_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace pb::smtp::test
