#include "model.hpp"

#include <fmt/format.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace churn {

namespace {

// train() hands XGBoost x.data() as one row-major nrow x num_features block.
static_assert(sizeof(feature_vector) == num_features * sizeof(float));

void check(int rc, const char* call) {
  if (rc == 0)
    return;
  // XGBoost appends a backtrace of its own frames; the reason comes before it.
  std::string_view reason = XGBGetLastError();
  reason = reason.substr(0, reason.find("Stack trace:"));
  while (!reason.empty() && std::isspace(static_cast<unsigned char>(reason.back())))
    reason.remove_suffix(1);
  throw std::runtime_error(fmt::format("churn model: {} failed: {}", call, reason));
}

struct dmatrix_deleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
using dmatrix_ptr = std::unique_ptr<void, dmatrix_deleter>;

struct booster_deleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};
using booster_ptr = std::unique_ptr<void, booster_deleter>;

void set_param(BoosterHandle b, const char* key, const std::string& value) {
  check(XGBoosterSetParam(b, key, value.c_str()), "XGBoosterSetParam");
}

void check_params(const model_params& p) {
  // XGBoost rejects most of these too, but with messages that do not name our struct.
  if (p.rounds < 1)
    throw std::invalid_argument(fmt::format("churn::train: rounds = {} < 1", p.rounds));
  if (p.max_leaves < 0 || p.max_depth < 0 || (p.max_leaves == 0 && p.max_depth == 0))
    throw std::invalid_argument(
        fmt::format("churn::train: max_leaves = {}, max_depth = {}: need both >= 0 and one > 0",
                    p.max_leaves, p.max_depth));
  if (!(p.eta > 0 && p.eta <= 1))
    throw std::invalid_argument(fmt::format("churn::train: eta = {} not in (0, 1]", p.eta));
  if (!(p.min_child_weight >= 0))
    throw std::invalid_argument(
        fmt::format("churn::train: min_child_weight = {} < 0", p.min_child_weight));
  if (!(p.lambda >= 0))
    throw std::invalid_argument(fmt::format("churn::train: lambda = {} < 0", p.lambda));
}

// Only the keys XGBoost requires: it parses this on every call, and in the Debian build each JSON
// string costs a std::ostringstream. NaN marks missing values, as in train().
constexpr const char* predict_config =
    R"({"type":0,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"cache_id":0,)"
    R"("missing":NaN})";

// The proxy DMatrix that in-place prediction takes its rows from. Without one XGBoost makes a
// new proxy per call, and constructing its context reads the cgroup CPU quota from /sys: half of
// a 65 us single-row prediction. A proxy holds only the array of the call in progress, so one per
// thread serves every booster (and two threads never share one).
DMatrixHandle thread_proxy() {
  struct holder {
    DMatrixHandle h = nullptr;
    ~holder() {
      if (h != nullptr)
        XGDMatrixFree(h);
    }
  };
  thread_local holder proxy;
  if (proxy.h == nullptr)
    check(XGProxyDMatrixCreate(&proxy.h), "XGProxyDMatrixCreate");
  return proxy.h;
}

// Predicts `rows` rows at `data` in place (no DMatrix copy). The result points into a buffer
// XGBoost keeps per thread and booster: valid until this thread's next prediction with `b`.
const float* predict_rows(BoosterHandle b, const float* data, size_t rows) {
  // A numpy-style __array_interface__: address, read-only flag, shape, little-endian float32.
  fmt::memory_buffer array;
  fmt::format_to(std::back_inserter(array),
                 R"({{"data":[{},true],"shape":[{},{}],"typestr":"<f4","version":3}})",
                 reinterpret_cast<std::uintptr_t>(data), rows, num_features);
  array.push_back('\0');
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  check(XGBoosterPredictFromDense(b, array.data(), predict_config, thread_proxy(), &shape, &dim,
                                  &out),
        "XGBoosterPredictFromDense");
  bst_ulong n = 1;
  for (bst_ulong i = 0; i < dim; ++i)
    n *= shape[i];
  if (n != rows)
    throw std::runtime_error(
        fmt::format("churn model: {} predictions for {} rows (not a binary model?)", n, rows));
  return out;
}

}  // namespace

std::string train(const std::vector<feature_vector>& x, const std::vector<float>& labels,
                  const model_params& p) {
  if (x.empty())
    throw std::invalid_argument("churn::train: no rows");
  if (x.size() != labels.size())
    throw std::invalid_argument(
        fmt::format("churn::train: {} rows but {} labels", x.size(), labels.size()));
  check_params(p);

  DMatrixHandle dh = nullptr;
  check(XGDMatrixCreateFromMat(x.data()->data(), x.size(), num_features,
                               std::numeric_limits<float>::quiet_NaN(), &dh),
        "XGDMatrixCreateFromMat");
  dmatrix_ptr dmat{dh};
  check(XGDMatrixSetFloatInfo(dh, "label", labels.data(), labels.size()), "XGDMatrixSetFloatInfo");

  BoosterHandle bh = nullptr;
  check(XGBoosterCreate(&dh, 1, &bh), "XGBoosterCreate");
  booster_ptr booster{bh};
  set_param(bh, "objective", "binary:logistic");
  // One thread, histogram splits and no row or column sampling: the same rows give the same
  // trees, bit for bit. Fast enough here (8,000 rows in 0.1-0.2 s).
  set_param(bh, "nthread", "1");
  set_param(bh, "tree_method", "hist");
  set_param(bh, "seed", "0");
  set_param(bh, "grow_policy", "lossguide");
  set_param(bh, "max_leaves", fmt::format("{}", p.max_leaves));
  set_param(bh, "max_depth", fmt::format("{}", p.max_depth));
  set_param(bh, "eta", fmt::format("{}", p.eta));
  set_param(bh, "min_child_weight", fmt::format("{}", p.min_child_weight));
  set_param(bh, "lambda", fmt::format("{}", p.lambda));
  for (int i = 0; i < p.rounds; ++i)
    check(XGBoosterUpdateOneIter(bh, i, dh), "XGBoosterUpdateOneIter");

  bst_ulong len = 0;
  const char* bytes = nullptr;
  check(XGBoosterSaveModelToBuffer(bh, R"({"format": "json"})", &len, &bytes),
        "XGBoosterSaveModelToBuffer");
  return std::string(bytes, len);
}

model::model(std::string_view bytes) {
  // Both of XGBoost's current formats start with '{' (a JSON or UBJSON object). Anything else
  // would go to its deprecated binary reader, which trusts the sizes it reads.
  if (bytes.empty() || bytes.front() != '{')
    throw std::runtime_error("churn model: bytes are not an XGBoost JSON or UBJSON model");
  BoosterHandle bh = nullptr;
  check(XGBoosterCreate(nullptr, 0, &bh), "XGBoosterCreate");
  std::shared_ptr<void> booster{bh, XGBoosterFree};
  check(XGBoosterLoadModelFromBuffer(bh, bytes.data(), bytes.size()),
        "XGBoosterLoadModelFromBuffer");
  bst_ulong features = 0;
  check(XGBoosterGetNumFeature(bh, &features), "XGBoosterGetNumFeature");
  if (features != num_features)
    throw std::runtime_error(
        fmt::format("churn model: model has {} features, expected {}", features, num_features));
  // The saved model keeps no thread count. One thread keeps predict() on the calling thread, and
  // XGBoost sizes per-call scratch space by the thread count.
  set_param(bh, "nthread", "1");
  // XGBoost configures a booster lazily on first use; doing it here, on one thread, leaves
  // predict() with read-only work, so copies of this model can predict concurrently.
  feature_vector probe;
  probe.fill(std::numeric_limits<float>::quiet_NaN());
  predict_rows(bh, probe.data(), 1);
  booster_ = std::move(booster);
}

float model::predict(const feature_vector& x) const {
  if (empty())
    throw std::logic_error("churn::model::predict on an empty model");
  return predict_rows(booster_.get(), x.data(), 1)[0];
}

std::vector<float> model::predict(const std::vector<feature_vector>& xs) const {
  if (empty())
    throw std::logic_error("churn::model::predict on an empty model");
  if (xs.empty())
    return {};
  const float* out = predict_rows(booster_.get(), xs.data()->data(), xs.size());
  return std::vector<float>(out, out + xs.size());
}

double auc(const std::vector<float>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size())
    throw std::invalid_argument(
        fmt::format("churn::auc: {} scores but {} labels", scores.size(), labels.size()));
  double pos = 0;
  double neg = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      throw std::invalid_argument(fmt::format("churn::auc: label {} is not 0/1", labels[i]));
    // NaN would break the sort's ordering.
    if (std::isnan(scores[i]))
      throw std::invalid_argument("churn::auc: NaN score");
    (labels[i] == 1 ? pos : neg) += 1;
  }
  if (pos == 0 || neg == 0)
    return std::numeric_limits<double>::quiet_NaN();

  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // U counts, over all (positive, negative) pairs, 1 when the positive scores higher and 1/2 on
  // a tie. Walk groups of equal scores in ascending order: each positive in a group beats the
  // negatives below it and ties with the negatives in it. Every term is a multiple of 1/2, so
  // the sum is exact.
  double u = 0;
  double neg_below = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    double group_pos = 0;
    double group_neg = 0;
    for (; j < order.size() && scores[order[j]] == scores[order[i]]; ++j)
      (labels[order[j]] == 1 ? group_pos : group_neg) += 1;
    u += group_pos * (neg_below + group_neg / 2);
    neg_below += group_neg;
    i = j;
  }
  return u / (pos * neg);
}

}  // namespace churn
