// upstream: the demo and benchmark upstream API; answers after a configurable delay.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

#include "aggregator/process/process_setup.hpp"
#include "upstream/upstream_server.hpp"

int main(int argc, char **argv) {
  agg::process::block_service_signals();
  CLI::App app{
      "upstream: GET /api/?task_id=K answers {\"message\":\"Hello World\",\"task_id\":\"K\"} after a delay.\n"
      "Per request: delay_ms=N overrides the delay; barrier=N holds the request until N such\n"
      "requests are waiting, then releases them together; status=N answers with that status;\n"
      "fault=reset_before_headers|reset_after_headers|endless_body|garbage|oversized|stall|binary injects\n"
      "a failure (oversized: size=N bytes, default 2 MiB).\n"
      "Deterministic per key=K (calls counted per key): fail_first=N and fail_every=M answer\n"
      "fail_status (503), with Retry-After when retry_after=S; slow_first=N and slow_every=K wait\n"
      "slow_ms (1000); cache_control=V sends Cache-Control: V. GET /calls?key=K counts a key's calls.\n"
      "With --tls-cert and --tls-key it serves HTTPS; with --tls-client-ca it requires client certificates."};
  std::string listen = "127.0.0.1:9008";
  long long delay_ms = 1000;
  app.add_option("-l,--listen", listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  app.add_option("-d,--delay-ms", delay_ms, "delay before each answer, in milliseconds")
      ->check(CLI::Range(0LL, 3'600'000LL))
      ->capture_default_str();
  upstream::upstream_options options;
  auto *cert = app.add_option("--tls-cert", options.tls_cert, "serve HTTPS with this certificate chain (PEM)")
                   ->check(CLI::ExistingFile);
  app.add_option("--tls-key", options.tls_key, "the certificate's private key (PEM)")
      ->check(CLI::ExistingFile)
      ->needs(cert);
  app.add_option("--tls-client-ca", options.tls_client_ca,
                 "require client certificates signed by this CA (PEM): mutual TLS")
      ->check(CLI::ExistingFile)
      ->needs(cert);
  cert->needs("--tls-key");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  const std::size_t colon = listen.rfind(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    options.host = listen.substr(0, colon);
    const int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    options.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception &) {
    std::fprintf(stderr, "--listen: must be HOST:PORT, e.g. 127.0.0.1:9008\n");
    return 2;
  }
  options.delay = std::chrono::milliseconds{delay_ms};

  agg::process::raise_fd_limit();  // thousands of benchmark connections
  try {
    upstream::upstream_server server{options};
    const agg::process::signal_waiter on_signal{[&server] { server.stop(); }};
    std::printf("upstream listening on %s://%s:%u (delay %lld ms%s)\n", options.tls_cert.empty() ? "http" : "https",
                options.host.c_str(), server.port(), delay_ms,
                options.tls_client_ca.empty() ? "" : "; client certificates required");
    std::fflush(stdout);
    server.run();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "upstream: %s\n", e.what());
    return 1;
  }
  return 0;
}
