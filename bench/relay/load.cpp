// relay_load: N clients at once, M messages each, against any SMTP endpoint
// that lets them send without TLS (the relay with relay.allowed_networks, or
// relay.require_tls=false and --auth). Reports messages per second, the
// latency of each message from the first byte of its MAIL command to the
// 250 after its final dot (p50, p99, max), and the peak resident memory of
// the server process (VmHWM of --pid). With --maildir it also waits until
// that many new messages have arrived there (end to end, through delivery).
//
//   relay_load --port 2525 --clients 10 --messages 20 --size 20000
//              --pid PID_OF_SERVE --maildir /tmp/pb-run/maildir
//
// Each client sends its messages over one connection (--reconnect: a new
// connection per message, as many old devices do), MAIL, RCPT and DATA
// pipelined.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string host = "127.0.0.1";
    int port = 2525;
    int clients = 1;
    int messages = 10;
    std::size_t size = 10000;
    std::string from = "load@lan.example";
    std::string to = "rcpt@example.test";
    std::string auth;  // base64 of "\0user\0pass" for AUTH PLAIN
    int pid = 0;
    bool reconnect = false;
    std::string maildir;
    int wait_seconds = 300;
};

class Conn {
  public:
    bool open(const Options& o) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) return false;
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{120, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(o.port));
        if (::inet_pton(AF_INET, o.host.c_str(), &a.sin_addr) != 1) return false;
        return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    }
    ~Conn() {
        if (fd_ >= 0) ::close(fd_);
    }
    bool send(const std::string& s) {
        std::size_t off = 0;
        while (off < s.size()) {
            const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) return false;
            off += static_cast<std::size_t>(n);
        }
        return true;
    }
    // One whole reply (multi-line included); its code, or 0 on error.
    int reply(std::string* text = nullptr) {
        for (;;) {
            const auto eol = buf_.find("\r\n");
            if (eol != std::string::npos) {
                const std::string line = buf_.substr(0, eol);
                buf_.erase(0, eol + 2);
                if (text) *text += line + "\n";
                if (line.size() >= 4 && line[3] == '-') continue;
                return line.size() >= 3 ? std::atoi(line.substr(0, 3).c_str()) : 0;
            }
            char tmp[4096];
            const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
            if (n <= 0) return 0;
            buf_.append(tmp, static_cast<std::size_t>(n));
        }
    }

  private:
    int fd_ = -1;
    std::string buf_;
};

std::string make_body(const Options& o, int client, int n) {
    std::string b = "From: <" + o.from + ">\r\nTo: <" + o.to + ">\r\nSubject: relay_load " +
                    std::to_string(client) + "/" + std::to_string(n) + "\r\n\r\n";
    const std::string line(76, 'x');
    while (b.size() < o.size) b += line + "\r\n";
    return b;
}

struct Stats {
    std::mutex mu;
    std::vector<double> latency_ms;
    int failed = 0;
    std::string first_error;
};

bool greet(Conn& c, const Options& o, std::string& err) {
    if (c.reply() != 220) return err = "no 220 greeting", false;
    if (!c.send("EHLO relay-load\r\n") || c.reply() != 250) return err = "EHLO refused", false;
    if (!o.auth.empty()) {
        std::string t;
        if (!c.send("AUTH PLAIN " + o.auth + "\r\n") || c.reply(&t) != 235)
            return err = "AUTH refused: " + t, false;
    }
    return true;
}

void client(const Options& o, int id, Stats& stats) {
    std::optional<Conn> c;
    std::string err;
    for (int n = 0; n < o.messages; ++n) {
        if (!c || o.reconnect) {
            c.emplace();
            if (!c->open(o) || !greet(*c, o, err)) {
                std::lock_guard lock(stats.mu);
                ++stats.failed;
                if (stats.first_error.empty()) stats.first_error = err.empty() ? "connect" : err;
                c.reset();
                continue;
            }
        }
        const std::string body = make_body(o, id, n);
        const auto start = Clock::now();
        std::string t;
        bool ok = c->send("MAIL FROM:<" + o.from + ">\r\nRCPT TO:<" + o.to + ">\r\nDATA\r\n") &&
                  c->reply(&t) == 250 && c->reply(&t) == 250 && c->reply(&t) == 354 &&
                  c->send(body + ".\r\n") && c->reply(&t) == 250;
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        std::lock_guard lock(stats.mu);
        if (ok) {
            stats.latency_ms.push_back(ms);
        } else {
            ++stats.failed;
            if (stats.first_error.empty()) stats.first_error = "refused: " + t;
            c.reset();
        }
        if (o.reconnect && c) {
            c->send("QUIT\r\n");
            c->reply();
        }
    }
    if (c && !o.reconnect) {
        c->send("QUIT\r\n");
        c->reply();
    }
}

long peak_rss_kb(int pid) {
    if (pid <= 0) return -1;
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string key;
    while (in >> key) {
        long v = 0;
        if (key == "VmHWM:" && (in >> v)) return v;
    }
    return -1;
}

std::size_t count_files(const std::string& dir) {
    std::error_code ec;
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/new", ec))
        if (!e.path().string().ends_with(".json")) ++n;
    return n;
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
}

int usage() {
    std::cerr << "usage: relay_load [--host A] [--port P] [--clients N] [--messages M] [--size B]\n"
                 "                  [--from A] [--to A] [--auth BASE64] [--pid PID] [--reconnect]\n"
                 "                  [--maildir DIR] [--wait SECONDS]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::cerr << "relay_load: " << a << " needs a value\n";
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--host")
            o.host = value();
        else if (a == "--port")
            o.port = std::atoi(value().c_str());
        else if (a == "--clients")
            o.clients = std::atoi(value().c_str());
        else if (a == "--messages")
            o.messages = std::atoi(value().c_str());
        else if (a == "--size")
            o.size = static_cast<std::size_t>(std::atol(value().c_str()));
        else if (a == "--from")
            o.from = value();
        else if (a == "--to")
            o.to = value();
        else if (a == "--auth")
            o.auth = value();
        else if (a == "--pid")
            o.pid = std::atoi(value().c_str());
        else if (a == "--reconnect")
            o.reconnect = true;
        else if (a == "--maildir")
            o.maildir = value();
        else if (a == "--wait")
            o.wait_seconds = std::atoi(value().c_str());
        else
            return usage();
    }
    if (o.clients < 1 || o.messages < 1 || o.port < 1) return usage();

    const std::size_t before = o.maildir.empty() ? 0 : count_files(o.maildir);
    Stats stats;
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int i = 0; i < o.clients; ++i)
        threads.emplace_back([&o, &stats, i] { client(o, i, stats); });
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    const std::size_t ok = stats.latency_ms.size();

    double delivered_secs = -1;
    std::size_t delivered = 0;
    if (!o.maildir.empty()) {
        const auto deadline = start + std::chrono::seconds(o.wait_seconds);
        while ((delivered = count_files(o.maildir) - before) < ok && Clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        delivered_secs = std::chrono::duration<double>(Clock::now() - start).count();
    }

    const double p50 = percentile(stats.latency_ms, 0.50);
    const double p99 = percentile(stats.latency_ms, 0.99);
    const double max = stats.latency_ms.empty() ? 0 : stats.latency_ms.back();
    std::printf(
        "{\"clients\":%d,\"messages\":%d,\"size\":%zu,\"accepted\":%zu,\"failed\":%d,"
        "\"seconds\":%.3f,\"messages_per_s\":%.1f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,"
        "\"max_ms\":%.1f,\"server_peak_rss_kb\":%ld",
        o.clients, o.messages, o.size, ok, stats.failed, secs, static_cast<double>(ok) / secs, p50,
        p99, max, peak_rss_kb(o.pid));
    if (!o.maildir.empty())
        std::printf(",\"delivered\":%zu,\"delivered_seconds\":%.3f,\"delivered_per_s\":%.1f",
                    delivered, delivered_secs, static_cast<double>(delivered) / delivered_secs);
    std::printf("}\n");
    if (!stats.first_error.empty())
        std::fprintf(stderr, "first error: %s\n", stats.first_error.c_str());
    return stats.failed == 0 ? 0 : 1;
}
