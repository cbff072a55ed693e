#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tests/support/scratch_dir.hpp"

namespace agg::testing {

/// Throwaway TLS material made for one test with the `openssl` command (make_test_certs.sh): `ca`
/// signed `server` (127.0.0.1, localhost, upstream.test), `wrong-name` (elsewhere.test), `expired`
/// and `client`; `other-ca` signed nothing. Each as NAME.pem and NAME.key; removed afterwards.
class test_certs {
 public:
  test_certs() {
    const std::string command =
        std::string{"'"} + AGG_SOURCE_DIR + "/tests/support/make_test_certs.sh' '" + dir_.path.string() + "'";
    if (std::system(command.c_str()) != 0) throw std::runtime_error("make_test_certs.sh failed");
  }

  /// `name`.pem, e.g. pem("ca").
  [[nodiscard]] std::string pem(const std::string &name) const { return (dir_.path / (name + ".pem")).string(); }
  [[nodiscard]] std::string key(const std::string &name) const { return (dir_.path / (name + ".key")).string(); }
  [[nodiscard]] const scratch_dir &dir() const noexcept { return dir_; }

 private:
  scratch_dir dir_;
};

}  // namespace agg::testing
