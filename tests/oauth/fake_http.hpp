// A scripted HttpClient for the OAuth tests: answers come from a handler the
// test writes, every request is recorded and counted, and an optional delay
// holds each answer back so that concurrent callers really overlap.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "oauth/http.hpp"
#include "oauth/url.hpp"

namespace pb::oauth::test {

inline HttpResponse json(long status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.content_type = "application/json";
    r.body = Secret(std::move(body));
    return r;
}

// A request as the fake saw it, with its form decoded.
struct Seen {
    std::string url;
    Params form;
    std::string authorization;
    std::string field(std::string_view name) const { return param(form, name).value_or(""); }
};

class FakeHttp final : public HttpClient {
  public:
    using Handler = std::function<Result<HttpResponse>(const Seen&)>;
    explicit FakeHttp(Handler h = {}) : handler_(std::move(h)) {}

    void on(Handler h) { handler_ = std::move(h); }
    void delay(std::chrono::milliseconds d) { delay_ = d; }

    Result<HttpResponse> send(const HttpRequest& request) override {
        Seen seen{request.url, parse_form(request.body.reveal()).value_or(Params{}),
                  std::string(request.authorization.reveal())};
        ++count_;
        {
            std::lock_guard lock(mu_);
            seen_.push_back(seen);
        }
        if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
        return handler_(seen);
    }

    int count() const { return count_.load(); }
    std::vector<Seen> seen() const {
        std::lock_guard lock(mu_);
        return seen_;
    }

  private:
    Handler handler_;
    std::chrono::milliseconds delay_{0};
    std::atomic<int> count_{0};
    mutable std::mutex mu_;
    std::vector<Seen> seen_;
};

}  // namespace pb::oauth::test
