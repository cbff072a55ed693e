#include "aggregator/config/text_template.hpp"

#include "aggregator/text/character_rules.hpp"

namespace agg::config {

namespace {

bool is_slot_name(std::string_view name) { return text::made_of(name, "_"); }

/// `name` or `entry.body#pointer`, or the reason it is neither.
std::variant<template_slot, std::string> read_slot(std::string_view inside) {
  if (inside == api_key_name_slot) return template_slot{std::string{inside}, std::nullopt};
  if (inside.starts_with("jwt#")) {
    const std::string_view pointer = inside.substr(4);
    if (!is_json_pointer(pointer) || pointer.empty())
      return "slot '{" + std::string{inside} + "}': '" + std::string{pointer} +
             "' is not a JSON Pointer into the token's claims (e.g. /sub)";
    return template_slot{"jwt", std::string{pointer}, true};
  }
  const std::size_t dot = inside.find(".body#");
  if (dot == std::string_view::npos) {
    if (!is_slot_name(inside))
      return "slot '{" + std::string{inside} + "}' is not a name (letters, digits, '_') nor entry.body#/pointer";
    return template_slot{std::string{inside}, std::nullopt};
  }
  const std::string_view entry = inside.substr(0, dot);
  const std::string_view pointer = inside.substr(dot + 6);
  if (!text::is_name(entry)) return "slot '{" + std::string{inside} + "}' does not start with an entry name";
  if (!is_json_pointer(pointer))
    return "slot '{" + std::string{inside} + "}': '" + std::string{pointer} +
           "' is not a JSON Pointer (empty, or /-separated tokens; ~ only as ~0 or ~1)";
  return template_slot{std::string{entry}, std::string{pointer}};
}

}  // namespace

std::variant<text_template, std::string> text_template::parse(std::string_view text) {
  text_template result;
  result.text_ = std::string{text};
  std::string literal;
  for (std::size_t pos = 0; pos < text.size();) {
    const char c = text[pos];
    if (c == '}') return std::string{"unmatched '}' at offset "} + std::to_string(pos);
    if (c != '{') {
      literal += c;
      ++pos;
      continue;
    }
    const std::size_t close = text.find('}', pos);
    if (close == std::string_view::npos) return std::string{"unclosed '{' at offset "} + std::to_string(pos);
    auto slot = read_slot(text.substr(pos + 1, close - pos - 1));
    if (auto *problem = std::get_if<std::string>(&slot)) return std::move(*problem);
    if (!literal.empty()) result.pieces_.emplace_back(std::move(literal));
    literal.clear();
    result.pieces_.emplace_back(std::get<template_slot>(std::move(slot)));
    pos = close + 1;
  }
  if (!literal.empty()) result.pieces_.emplace_back(std::move(literal));
  return result;
}

std::string text_template::expand(const std::function<std::string(const template_slot &)> &value_of) const {
  std::string out;
  out.reserve(text_.size() + 16);
  for (const auto &p : pieces_) {
    if (const auto *literal = std::get_if<std::string>(&p))
      out += *literal;
    else
      out += value_of(std::get<template_slot>(p));
  }
  return out;
}

std::vector<template_slot> text_template::slots() const {
  std::vector<template_slot> found;
  for (const auto &p : pieces_)
    if (const auto *s = std::get_if<template_slot>(&p)) found.push_back(*s);
  return found;
}

const template_slot *text_template::whole_slot() const noexcept {
  return pieces_.size() == 1 ? std::get_if<template_slot>(&pieces_.front()) : nullptr;
}

bool is_json_pointer(std::string_view pointer) noexcept {
  if (pointer.empty()) return true;
  if (pointer.front() != '/') return false;
  for (std::size_t i = 0; i < pointer.size(); ++i)
    if (pointer[i] == '~' && (i + 1 == pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1')))
      return false;
  return true;
}

std::vector<std::string> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  std::string token;
  for (std::size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(std::move(token));
      token.clear();
    } else if (pointer[i] == '~') {
      token += pointer[++i] == '1' ? '/' : '~';
    } else {
      token += pointer[i];
    }
  }
  return tokens;
}

}  // namespace agg::config
