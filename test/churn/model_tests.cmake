# The churn model (examples/churn/model.hpp): AUC on hand-computed cases, and gradient-boosted
# trees trained on the real data set (examples/data/churn_modelling) with the streaming job's
# systematic 80/20 hold-out: quality, determinism, byte round trip, errors.
sluice_add_test(churn_model_test
  SOURCES model_test.cpp
  LIBS churn_model
  TIMEOUT 120
  LABELS churn)
target_compile_definitions(churn_model_test PRIVATE CHURN_DATA_DIR="${PROJECT_SOURCE_DIR}/examples/data")
