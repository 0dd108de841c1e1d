#define BOOST_TEST_MODULE churn_model
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "model.hpp"

namespace {

using churn::feature_vector;

struct customers {
  std::vector<feature_vector> x;
  std::vector<int> exited;
};

// Churn_Modelling.csv: RowNumber,CustomerId,Surname,CreditScore,Geography,Gender,Age,Tenure,
// Balance,NumOfProducts,HasCrCard,IsActiveMember,EstimatedSalary,Exited; CRLF, no quoting.
customers load_customers() {
  const std::string path = CHURN_DATA_DIR "/churn_modelling/Churn_Modelling.csv";
  std::ifstream in(path);
  BOOST_REQUIRE_MESSAGE(in, "cannot open " << path);
  customers out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    std::vector<std::string> f;
    for (size_t start = 0;;) {
      size_t comma = line.find(',', start);
      f.push_back(line.substr(start, comma - start));
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    BOOST_REQUIRE_MESSAGE(f.size() == 14, "bad line: " << line);
    const std::string& geo = f[4];
    BOOST_REQUIRE(geo == "France" || geo == "Germany" || geo == "Spain");
    feature_vector v{};
    v[0] = std::stof(f[3]);
    v[1] = geo == "France" ? 0 : geo == "Germany" ? 1 : 2;
    v[2] = f[5] == "Female" ? 1 : 0;
    for (size_t i = 3; i < churn::num_features; ++i)
      v[i] = std::stof(f[i + 3]);
    out.x.push_back(v);
    out.exited.push_back(std::stoi(f[13]));
  }
  return out;
}

// Parsed once for all test cases.
const customers& data() {
  static const customers c = load_customers();
  return c;
}

struct split {
  std::vector<feature_vector> train_x;
  std::vector<float> train_y;
  std::vector<feature_vector> test_x;
  std::vector<int> test_y;
};

// The streaming job's hold-out: within each class, in file order, the k-th customer is held out
// iff (k + offset) % 5 == 0.
split systematic_split(const customers& c, size_t offset) {
  split s;
  size_t seen[2] = {0, 0};
  for (size_t i = 0; i < c.x.size(); ++i) {
    int y = c.exited[i];
    if ((seen[y]++ + offset) % 5 == 0) {
      s.test_x.push_back(c.x[i]);
      s.test_y.push_back(y);
    } else {
      s.train_x.push_back(c.x[i]);
      s.train_y.push_back(static_cast<float>(y));
    }
  }
  return s;
}

// Trained once: several cases look at the same model.
const std::string& default_model_bytes() {
  static const std::string bytes = [] {
    auto s = systematic_split(data(), 0);
    return churn::train(s.train_x, s.train_y);
  }();
  return bytes;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(churn_auc)

BOOST_AUTO_TEST_CASE(perfect_ranking_scores_one) {
  BOOST_TEST(churn::auc({0.1f, 0.2f, 0.8f, 0.9f}, {0, 0, 1, 1}) == 1.0);
}

BOOST_AUTO_TEST_CASE(inverse_ranking_scores_zero) {
  BOOST_TEST(churn::auc({0.9f, 0.8f, 0.2f, 0.1f}, {0, 0, 1, 1}) == 0.0);
}

BOOST_AUTO_TEST_CASE(all_ties_score_one_half) {
  BOOST_TEST(churn::auc({0.5f, 0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 0, 1, 1}) == 0.5);
}

BOOST_AUTO_TEST_CASE(counts_pairs_and_half_ties) {
  // Positives 0.35 and 0.8, negatives 0.1 and 0.4: 3 of 4 pairs ordered right.
  BOOST_TEST(churn::auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}) == 0.75);
  // Positives 0.4 and 0.8, negatives 0.1 and 0.4: 3 pairs right, 1 tie.
  BOOST_TEST(churn::auc({0.1f, 0.4f, 0.4f, 0.8f}, {0, 1, 0, 1}) == 3.5 / 4);
}

BOOST_AUTO_TEST_CASE(one_class_gives_nan) {
  BOOST_TEST(std::isnan(churn::auc({0.1f, 0.7f}, {1, 1})));
  BOOST_TEST(std::isnan(churn::auc({0.1f, 0.7f}, {0, 0})));
  BOOST_TEST(std::isnan(churn::auc({}, {})));
}

BOOST_AUTO_TEST_CASE(rejects_bad_input) {
  BOOST_CHECK_THROW(churn::auc({0.1f, 0.2f}, {0}), std::invalid_argument);
  BOOST_CHECK_THROW(churn::auc({0.1f, 0.2f}, {0, 2}), std::invalid_argument);
  BOOST_CHECK_THROW(churn::auc({0.1f, NAN}, {0, 1}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(churn_model_suite)

BOOST_AUTO_TEST_CASE(reads_the_whole_data_set) {
  BOOST_TEST(data().x.size() == 10000u);
  size_t exited = 0;
  for (int y : data().exited)
    exited += y;
  BOOST_TEST(exited == 2037u);  // examples/data/README.md
}

BOOST_AUTO_TEST_CASE(ranks_held_out_customers) {
  auto s = systematic_split(data(), 0);
  BOOST_TEST(s.test_x.size() == 1593u + 408u);  // ceil(7963 / 5) stayed, ceil(2037 / 5) left
  churn::model m(default_model_bytes());
  double a = churn::auc(m.predict(s.test_x), s.test_y);
  BOOST_TEST_MESSAGE("held-out AUC, offset 0: " << a);
  BOOST_TEST(a >= 0.85);
}

BOOST_AUTO_TEST_CASE(training_is_deterministic) {
  auto s = systematic_split(data(), 0);
  std::string again = churn::train(s.train_x, s.train_y);
  BOOST_TEST((again == default_model_bytes()));
  churn::model first(default_model_bytes());
  churn::model second(again);
  BOOST_TEST(first.predict(data().x) == second.predict(data().x), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(single_row_batch_and_copies_agree) {
  churn::model m(default_model_bytes());
  BOOST_TEST(!m.empty());
  auto batch = m.predict(data().x);
  BOOST_REQUIRE(batch.size() == data().x.size());
  churn::model copy = m;
  for (size_t i = 0; i < data().x.size(); i += 97) {
    BOOST_TEST(m.predict(data().x[i]) == batch[i]);
    BOOST_TEST(copy.predict(data().x[i]) == batch[i]);
    BOOST_TEST((batch[i] > 0 && batch[i] < 1));
  }
  BOOST_TEST(m.predict(std::vector<feature_vector>{}).empty());
}

BOOST_AUTO_TEST_CASE(missing_features_predict) {
  churn::model m(default_model_bytes());
  feature_vector unknown;
  unknown.fill(NAN);
  float p = m.predict(unknown);
  BOOST_TEST((p > 0 && p < 1));
}

BOOST_AUTO_TEST_CASE(predicts_concurrently) {
  churn::model shared(default_model_bytes());
  churn::model copy = shared;
  churn::model separate(default_model_bytes());
  const auto& x = data().x;
  auto expected = shared.predict(x);
  auto run = [&x](const churn::model& m, std::vector<float>& out) {
    out.resize(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      out[i] = m.predict(x[i]);
  };
  std::vector<float> a, b, c;
  std::thread ta(run, std::cref(shared), std::ref(a));
  std::thread tb(run, std::cref(copy), std::ref(b));
  std::thread tc(run, std::cref(separate), std::ref(c));
  ta.join();
  tb.join();
  tc.join();
  BOOST_TEST(a == expected, boost::test_tools::per_element());
  BOOST_TEST(b == expected, boost::test_tools::per_element());
  BOOST_TEST(c == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(learns_a_simple_rule) {
  // Churn iff age > 50: a few trees separate it exactly.
  std::vector<feature_vector> x;
  std::vector<float> y;
  for (int i = 0; i < 200; ++i) {
    feature_vector v{};
    v[3] = static_cast<float>(20 + i % 60);
    v[0] = static_cast<float>(500 + (i * 37) % 300);
    x.push_back(v);
    y.push_back(v[3] > 50 ? 1.0f : 0.0f);
  }
  churn::model m(churn::train(x, y, {.rounds = 20}));
  feature_vector young{}, old{};
  young[3] = 30;
  old[3] = 70;
  BOOST_TEST(m.predict(young) < 0.2f);
  BOOST_TEST(m.predict(old) > 0.8f);
  std::vector<int> labels(y.begin(), y.end());
  BOOST_TEST(churn::auc(m.predict(x), labels) == 1.0);
}

BOOST_AUTO_TEST_CASE(invalid_bytes_throw) {
  const std::string& good = default_model_bytes();
  for (std::string_view bad :
       {std::string_view{}, std::string_view{"not a model"}, std::string_view{"{}"},
        std::string_view{"{\"learner\": 1}"}, std::string_view{good}.substr(0, good.size() / 2)})
    BOOST_CHECK_THROW(churn::model{bad}, std::runtime_error);
}

BOOST_AUTO_TEST_CASE(empty_model_refuses_to_predict) {
  churn::model m;
  BOOST_TEST(m.empty());
  BOOST_CHECK_THROW(m.predict(feature_vector{}), std::logic_error);
}

BOOST_AUTO_TEST_CASE(mismatched_or_empty_input_throws) {
  std::vector<feature_vector> x(3);
  BOOST_CHECK_THROW(churn::train(x, {0, 1}), std::invalid_argument);
  BOOST_CHECK_THROW(churn::train({}, {}), std::invalid_argument);
  BOOST_CHECK_THROW(churn::train(x, {0, 1, 0}, {.rounds = 0}), std::invalid_argument);
  BOOST_CHECK_THROW(churn::train(x, {0, 1, 0}, {.max_leaves = 0, .max_depth = 0}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bad_labels_report_xgboost_error) {
  std::vector<feature_vector> x(3);
  BOOST_CHECK_THROW(churn::train(x, {0, 1, 7}), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
