#pragma once

// cpp-httplib's request and response types, declared without its 9000-line header.
namespace httplib {
struct Request;
struct Response;
}  // namespace httplib
