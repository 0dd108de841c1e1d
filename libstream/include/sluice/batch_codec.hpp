#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include "sluice/record.hpp"
#include "sluice/state/codec.hpp"

namespace sluice {

/// Turns the batches of one edge into bytes and back, with the record type's
/// codec: what a remote channel sends. Made by the typed API where the record
/// type is known; `encode` is empty for a type without a codec (such an edge
/// cannot cross nodes, and the cluster runtime says so naming the type).
struct batch_codec {
  std::function<void(const batch_base&, std::string& out)> encode;
  /// Decodes `count` records; throws state::codec_error on malformed bytes.
  std::function<batch_ptr(std::string_view bytes, uint32_t count)> decode;
  std::string type_name;
  /// A copy of a batch (empty for a type that cannot be copied): what an
  /// in-flight log keeps, as receivers consume the batches they get.
  std::function<batch_ptr(const batch_base&)> clone;
  /// Approximate bytes a batch holds in memory (the records' own size;
  /// heap memory they point to is not counted).
  std::function<uint64_t(const batch_base&)> bytes;

  explicit operator bool() const noexcept { return static_cast<bool>(encode); }
};

template <class T>
batch_codec make_batch_codec() {
  batch_codec c;
  c.type_name = typeid(T).name();
  if constexpr (std::is_copy_constructible_v<T>) {
    c.clone = [](const batch_base& b) -> batch_ptr {
      return std::make_shared<typed_batch<T>>(static_cast<const typed_batch<T>&>(b).records);
    };
    c.bytes = [](const batch_base& b) -> uint64_t {
      return static_cast<uint64_t>(b.size()) * sizeof(record<T>) + sizeof(typed_batch<T>);
    };
  }
  if constexpr (state::serializable<T>()) {
    c.encode = [](const batch_base& b, std::string& out) {
      const auto& rs = static_cast<const typed_batch<T>&>(b).records;
      out.clear();
      out.reserve(rs.size() * (sizeof(T) + 8));
      state::writer w{out};
      for (const auto& r : rs) {
        w.number<int64_t>(r.ts.ms);
        state::encode(w, r.value);
      }
    };
    c.decode = [](std::string_view bytes, uint32_t count) -> batch_ptr {
      auto b = std::make_shared<typed_batch<T>>();
      b->records.reserve(count);
      state::reader r{bytes};
      for (uint32_t i = 0; i < count; ++i) {
        record<T> rec{};
        rec.ts.ms = r.number<int64_t>();
        state::decode(r, rec.value);
        b->records.push_back(std::move(rec));
      }
      if (!r.at_end())
        throw state::codec_error("batch of " + std::to_string(count) +
                                 " records has trailing bytes");
      return b;
    };
  }
  return c;
}

}  // namespace sluice
