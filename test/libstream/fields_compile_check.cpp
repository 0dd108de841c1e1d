// Compile-only check, run by CTest as `libstream_fields_compile_check` (it
// invokes the compiler, so a failure is a failing test, not a broken build).
//
// SLUICE_FIELDS must accept any member names. Its generated functions name
// their parameter `x` and declare a structured binding of the member names in
// the same scope, so a struct with a member called `x` does not compile:
// "declaration of 'auto x' shadows a parameter".
#include <tuple>

#include "sluice/fields.hpp"

namespace check {

struct point {
  int x = 0;
  int y = 0;
};
SLUICE_FIELDS(point, x, y)

}  // namespace check

int main() {
  check::point p{1, 2};
  static_assert(sluice::has_fields<check::point>);
  return std::get<0>(sluice_fields(p)) + std::get<1>(sluice_fields(p)) == 3 ? 0 : 1;
}
