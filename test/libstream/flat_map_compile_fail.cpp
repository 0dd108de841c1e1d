// Compile-fail check, run by CTest as `libstream_flat_map_compile_fail`: a
// generic lambda does not say flat_map's output type, and the static_assert
// says how to name it.
#include <string>
#include <vector>

#include "sluice/pipeline.hpp"

int main() {
  sluice::pipeline p;
  p.from_collection<std::string>(std::vector<std::string>{"a"})
      .flat_map([](const auto& s, auto& out) { out.emit(s); });
  return 0;
}
