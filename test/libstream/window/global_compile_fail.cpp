// A global window without a trigger would never fire (Flink's NeverTrigger):
// building one must stop at a static_assert saying to give it a trigger.
#include <string>
#include <utility>

#include "sluice/pipeline.hpp"

int main() {
  using kv = std::pair<std::string, int>;
  struct sum {
    using acc_type = int;
    int create() const { return 0; }
    void add(int& a, const kv& v) const { a += v.second; }
    int result(const int& a) const { return a; }
  };
  sluice::pipeline p;
  auto out = p.from_collection<kv>({})
                 .key_by([](const kv& v) { return v.first; })
                 .window(sluice::window::global{})
                 .aggregate(sum{});
  (void)out;
}
