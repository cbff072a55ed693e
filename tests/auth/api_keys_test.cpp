#include "aggregator/auth/api_keys.hpp"

#include <catch2/catch.hpp>

#include "aggregator/auth/jwt_verifier.hpp"

using namespace agg;

TEST_CASE("API keys are found by their SHA-256, the file never holds the keys themselves") {
  const std::string text = "# who may call\nmobile-app sha256:" + auth::sha256_hex("key-for-mobile-0123456789") +
                           "\n\n  partner_1\tsha256:" + auth::sha256_hex("partner-key-9876543210") + "  # since May\n";
  auto parsed = auth::api_keys::parse(text);
  REQUIRE(std::holds_alternative<auth::api_keys>(parsed));
  const auto &keys = std::get<auth::api_keys>(parsed);
  CHECK(keys.size() == 2);
  CHECK(keys.name_of("key-for-mobile-0123456789") == std::optional<std::string_view>{"mobile-app"});
  CHECK(keys.name_of("partner-key-9876543210") == std::optional<std::string_view>{"partner_1"});
  CHECK_FALSE(keys.name_of("key-for-mobile-012345678"));
  CHECK_FALSE(keys.name_of(""));
  // `printf %s test | sha256sum`
  CHECK(auth::sha256_hex("test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST_CASE("a bad API keys file names the line and what it expected") {
  const auto problem = [](std::string_view text) {
    auto parsed = auth::api_keys::parse(text);
    REQUIRE(std::holds_alternative<std::string>(parsed));
    return std::get<std::string>(parsed);
  };
  const std::string hash = "sha256:" + auth::sha256_hex("x");
  CHECK(problem("mobile the-key-itself").starts_with("line 1: expected `mobile sha256:<64 hex digits>`"));
  CHECK(problem("\nMobile " + hash).starts_with("line 2: a key's name is lowercase"));
  CHECK(problem("a " + hash + "\nb " + hash) == "line 2: the same key is listed twice");
  CHECK(problem("a " + hash + "\na sha256:" + auth::sha256_hex("y")) == "line 2: the name a is given twice");
  CHECK(problem("a sha256:" + std::string(64, 'g')).starts_with("line 1: expected"));
}
