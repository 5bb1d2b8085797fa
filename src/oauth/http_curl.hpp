// The real HttpClient, on libcurl with OpenSSL: the profile's proxy, the
// system CA bundle plus the CAs an administrator imported, timeouts on every
// request, no redirects (a token request must never be re-sent elsewhere).
// Failures become the job codes 601-613; nothing here logs a URL's query,
// a header or a body.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "oauth/http.hpp"

namespace pb::oauth {

struct CurlOptions {
    std::string proxy_url;  // http(s)://host:port; empty = no proxy (proxy env vars are ignored)
    // PEM files of extra trust anchors, added to (not replacing) the system bundle.
    std::vector<std::filesystem::path> extra_ca_files;
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds total_timeout{30'000};
    std::size_t max_response_bytes = 1 << 20;  // token answers are a few KB
    std::string user_agent = "postbridge";
};

class CurlHttpClient final : public HttpClient {
  public:
    // Fails (643) when an extra CA file cannot be read.
    static Result<std::unique_ptr<CurlHttpClient>> create(CurlOptions options);
    ~CurlHttpClient() override;
    CurlHttpClient(const CurlHttpClient&) = delete;
    CurlHttpClient& operator=(const CurlHttpClient&) = delete;

    Result<HttpResponse> send(const HttpRequest& request) override;

  private:
    struct Trust;
    CurlHttpClient(CurlOptions options, std::unique_ptr<Trust> trust);
    CurlOptions options_;
    std::unique_ptr<Trust> trust_;
};

}  // namespace pb::oauth
