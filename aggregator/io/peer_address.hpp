#pragma once

#include <string>

namespace agg::io {

/// The numeric address of the other end of connected socket `fd` (`127.0.0.1`, `::1`; an IPv4
/// client of a dual-stack socket as IPv4), or "unknown" when the kernel cannot say.
std::string peer_address(int fd);

/// True when bytes from the peer wait unread on connected socket `fd` (a peek: nothing is taken).
/// A connection that has sent them has asked for something; closing it would lose that.
bool has_unread_bytes(int fd) noexcept;

}  // namespace agg::io
