#include "fake_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace pb::smtp::test {

std::map<std::string, std::string> accepting_script() {
    return {{"EHLO", "250-fake\r\n250 PIPELINING\r\n"},
            {"MAIL", "250 2.1.0 ok\r\n"},
            {"RCPT", "250 2.1.5 ok\r\n"},
            {"DATA", "354 go\r\n"},
            {".", "250 2.0.0 queued\r\n"},
            {"QUIT", "221 bye\r\n"}};
}

FakeServer::FakeServer(std::string greeting, std::map<std::string, std::string> replies,
                       int connections)
    : greeting_(std::move(greeting)), replies_(std::move(replies)), connections_(connections) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 4) != 0)
        throw std::runtime_error("fake server: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

FakeServer::~FakeServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
}

std::string FakeServer::received() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return received_;
}

void FakeServer::serve() {
    for (int served = 0; served < connections_ && !stop_; ++served) {
        pollfd lp{listener_, POLLIN, 0};
        while (!stop_ && ::poll(&lp, 1, 50) == 0) {
        }
        if (stop_) return;
        const int fd = ::accept(listener_, nullptr, nullptr);
        if (fd < 0) return;
        const bool go_on = serve_one(fd);
        ::close(fd);
        if (!go_on) return;
    }
}

bool FakeServer::serve_one(int fd) {
    auto send_all = [&](const std::string& s) {
        (void)::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    };
    if (!greeting_.empty()) send_all(greeting_);
    std::map<std::string, int> seen;  // verb -> how many so far on this connection
    std::string pending;
    bool in_data = false;
    char buf[4096];
    while (!stop_) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return true;
        received_.append(buf, static_cast<std::size_t>(n));
        pending.append(buf, static_cast<std::size_t>(n));
        for (;;) {
            std::string verb;
            if (in_data) {
                const auto end = pending.find("\r\n.\r\n");
                if (end == std::string::npos) break;
                pending.erase(0, end + 5);
                in_data = false;
                verb = ".";
            } else {
                const auto eol = pending.find("\r\n");
                if (eol == std::string::npos) break;
                const std::string line = pending.substr(0, eol);
                pending.erase(0, eol + 2);
                verb = line.substr(0, line.find_first_of(" :"));
            }
            auto it = replies_.find(verb + "#" + std::to_string(++seen[verb]));
            if (it == replies_.end()) it = replies_.find(verb);
            const std::string reply =
                it != replies_.end() ? it->second : "502 5.5.2 unknown command\r\n";
            if (reply == hang_up) return true;
            send_all(reply);
            if (verb == "DATA" && reply.rfind("354", 0) == 0) in_data = true;
            if (verb == "QUIT") return true;
        }
    }
    return false;
}

}  // namespace pb::smtp::test
