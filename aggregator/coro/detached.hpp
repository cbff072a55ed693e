#pragma once

#include <coroutine>
#include <exception>

namespace agg::coro {

/// The return type of a coroutine nobody awaits (asyncio.create_task without keeping the task): it
/// starts at once on the calling thread and frees its own frame when it ends. Whatever it needs
/// must be owned by its parameters (by value); an exception escaping it terminates the process.
struct detached {
  struct promise_type {
    detached get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
  };
};

}  // namespace agg::coro
