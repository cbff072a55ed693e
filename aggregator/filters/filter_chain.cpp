#include "aggregator/filters/filter_chain.hpp"

namespace agg::filters {

std::optional<http::response> request_filter::on_request(exchange &) const { return std::nullopt; }
void request_filter::on_response(request_context &, http::response &) const {}
void request_filter::on_complete(const request_context &, int, std::size_t) const {}

void filter_chain::resume(exchange x, std::size_t from) const {
  for (std::size_t i = from; i < filters_.size(); ++i) {
    x.next_filter_ = i + 1;
    if (auto early = filters_[i]->on_request(x)) return x.respond(std::move(*early));
    if (x.taken()) return;  // the filter waits, and goes on with it when it has decided
  }
  x.request().match.answer->serve(std::move(x));
}

void exchange::proceed() && {
  const filter_chain &chain = *chain_;
  const std::size_t from = next_filter_;
  chain.resume(std::move(*this), from);
}

void filter_chain::refuse(exchange x, const http::refusal &why) const {
  http::response refused = http::response::error(why.status, why.code, why.message);
  refused.closes_connection = true;
  x.respond(std::move(refused));
}

void filter_chain::encode(request_context &request, http::response &answer) const {
  for (auto filter = filters_.rbegin(); filter != filters_.rend(); ++filter) (*filter)->on_response(request, answer);
}

void filter_chain::complete(const request_context &request, int status, std::size_t bytes) const {
  for (const auto &filter : filters_) filter->on_complete(request, status, bytes);
}

void exchange::respond(http::response answer) {
  chain_->encode(request_, answer);
  // Complete before the bytes leave: a client that has its answer finds it in /metrics.
  if (to_->open())
    chain_->complete(request_, answer.status, request_.head_only() ? 0 : answer.payload().size());
  else
    chain_->complete(request_, client_closed_request, 0);
  to_->send(request_, answer);
}

void exchange::begin_stream(http::response head) {
  head.streamed = true;
  chain_->encode(request_, head);
  streamed_status_ = head.status;
  to_->send_head(request_, head);
}

void exchange::stream_chunk(std::string_view bytes) {
  if (request_.stream_encoder) {
    const std::string encoded = request_.stream_encoder->encode(bytes, false);
    streamed_bytes_ += encoded.size();
    to_->send_chunk(encoded);
    return;
  }
  streamed_bytes_ += bytes.size();
  to_->send_chunk(bytes);
}

void exchange::end_stream() {
  if (request_.stream_encoder) {  // the coding's end: its trailer
    const std::string tail = request_.stream_encoder->encode({}, true);
    streamed_bytes_ += tail.size();
    to_->send_chunk(tail);
  }
  chain_->complete(request_, to_->open() ? streamed_status_ : client_closed_request, streamed_bytes_);
  to_->send_end(request_);
}

}  // namespace agg::filters
