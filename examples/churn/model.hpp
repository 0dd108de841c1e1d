#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

/// The churn model: gradient-boosted trees (XGBoost's C API) trained on bank customers, and the
/// AUC that scores it.
///
/// Training and prediction are deterministic: XGBoost runs on one thread with the `hist` tree
/// method and no row or column sampling, so the same rows give byte-identical model bytes and
/// identical predictions on every run with the same XGBoost build.
namespace churn {

/// Number of features of one customer.
inline constexpr size_t num_features = 10;

/// One customer's features, in this order (the columns of Churn_Modelling.csv):
///  0 credit_score
///  1 geography: 0 France, 1 Germany, 2 Spain
///  2 gender: 1 Female, 0 Male
///  3 age (years)
///  4 tenure (years with the bank)
///  5 balance
///  6 num_products
///  7 has_cr_card (0/1)
///  8 is_active_member (0/1)
///  9 estimated_salary
/// NaN marks a missing value; the trees send it down their learned default branch.
using feature_vector = std::array<float, num_features>;

/// Training parameters. Trees grow best-first (XGBoost's lossguide policy): each tree splits
/// the leaf with the largest gain until it has `max_leaves` leaves, so its shape follows the data
/// rather than a fixed depth.
///
/// The defaults were chosen on Churn_Modelling.csv, holding out every fifth customer of each
/// class (five offsets, 80/20 each): held-out AUC 0.861-0.887 (mean 0.869), training on 8,000
/// rows in 0.1-0.2 s on one thread. Neighbouring settings (max_leaves 10-16, rounds 100-400 with
/// eta 0.1-0.025) score within 0.002, so these are not tuned to one split.
struct model_params {
  /// Boosting rounds (trees).
  int rounds = 150;
  /// Leaves per tree; 0 = no limit (then max_depth must be set).
  int max_leaves = 12;
  /// Depth limit of a tree; 0 = no limit (max_leaves bounds the tree).
  int max_depth = 0;
  /// Learning rate: the weight of each new tree.
  double eta = 0.05;
  /// Minimum hessian sum in a leaf; larger values stop splits that isolate a few customers.
  double min_child_weight = 1;
  /// L2 regularisation of leaf weights (XGBoost's `lambda`).
  double lambda = 1;
};

/// Trains binary:logistic gradient-boosted trees on rows `x` with labels 0/1 (1 = churned).
///
/// Returns the model in XGBoost's JSON format (XGBoosterSaveModelToBuffer with "json"), which
/// XGBoost's other bindings load too (Python: `xgboost.Booster().load_model(bytearray(bytes))`).
/// Not UBJSON: only 14 % smaller here, and XGBoost 1.7's UBJSON reader crashes on truncated input
/// instead of reporting an error.
/// Throws std::invalid_argument when `x` is empty, when `x` and `labels` differ in size or when
/// a parameter is out of range, and std::runtime_error with XGBoost's message when it fails.
std::string train(const std::vector<feature_vector>& x, const std::vector<float>& labels,
                  const model_params& p = {});

/// A trained model, loaded from the bytes train() returned, that predicts churn probabilities.
///
/// Immutable once constructed. Copies share one XGBoost booster (freed with the last copy).
/// predict() may run on several threads at once, on the same or on different objects: the
/// booster is fully configured in the constructor, and XGBoost keeps in-place prediction output
/// per thread and booster.
class model {
public:
  /// An empty model; predict() on it throws std::logic_error.
  model() = default;

  /// Loads a model from train()'s bytes (XGBoost's JSON format; UBJSON loads too), in 15-30 ms.
  /// Throws std::runtime_error when the bytes are not a model (not JSON, truncated, missing
  /// fields) or the model has other than num_features features. XGBoost does not check that the
  /// trees are well formed: bytes corrupted into other valid JSON (a child index changed, say)
  /// can make it loop or read out of bounds, so bytes that were stored or sent need a checksum.
  explicit model(std::string_view bytes);

  /// True for a default-constructed model.
  bool empty() const { return booster_ == nullptr; }

  /// The churn probability of one customer, in [0, 1]. About 20 us: XGBoost's in-place
  /// prediction parses two small JSON documents and allocates scratch space per call.
  float predict(const feature_vector& x) const;

  /// The churn probabilities of several customers, in order; one XGBoost call for all rows
  /// (about 4 us a row).
  std::vector<float> predict(const std::vector<feature_vector>& xs) const;

private:
  /// XGBoost's BoosterHandle (a void*), freed with XGBoosterFree.
  std::shared_ptr<void> booster_;
};

/// Area under the ROC curve: the probability that a random positive scores higher than a random
/// negative (the Mann-Whitney U statistic divided by n_pos * n_neg), ties counting 1/2.
/// `labels` are 0/1. Returns NaN when either class is absent. Throws std::invalid_argument when
/// the sizes differ, a label is neither 0 nor 1, or a score is NaN.
double auc(const std::vector<float>& scores, const std::vector<int>& labels);

}  // namespace churn
