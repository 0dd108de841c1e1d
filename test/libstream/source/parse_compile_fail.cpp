// Compile-fail check, run by CTest as `libstream_parse_compile_fail`: it
// invokes the compiler and passes only if compilation stops at read_csv's
// static_assert, which says what a parse function must return (rather than
// "no type named 'value_type_tag'" from deep inside the source).
#include <string>

#include "sluice/pipeline.hpp"

int main() {
  sluice::pipeline p;
  // Wrong: returns nothing. A parse function returns T or sluice::parsed<T>.
  p.read_csv("in.csv", [](const sluice::csv_row& r) { (void)r.size(); });
  return 0;
}
