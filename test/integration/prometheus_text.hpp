#pragma once
// Reading Prometheus text exposition format in the integration tests.

#include <sstream>
#include <string>

namespace it {

/// Sum of the values of series `name` over the lines whose labels contain
/// `match`.
inline double prometheus_sum(const std::string& text, const std::string& name,
                             const std::string& match) {
  double sum = 0;
  std::istringstream in{text};
  for (std::string l; std::getline(in, l);)
    if (l.rfind(name + "{", 0) == 0 && l.find(match) != std::string::npos)
      sum += std::stod(l.substr(l.rfind(' ') + 1));
  return sum;
}

}  // namespace it
