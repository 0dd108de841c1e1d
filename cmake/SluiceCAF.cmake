# CAF 0.17 ships no CMake package: locate its headers and caf_core by hand and
# define the imported target caf::core (unless it exists already). Included by
# the build (../CMakeLists.txt) and, installed next to SluiceConfig.cmake, by
# projects that find_package(Sluice). Leaves caf::core undefined when CAF is
# not found: the caller says so.
if(NOT TARGET caf::core)
  find_path(CAF_INCLUDE_DIR caf/all.hpp)
  find_library(CAF_CORE_LIBRARY caf_core)
  if(CAF_INCLUDE_DIR AND CAF_CORE_LIBRARY)
    add_library(caf::core UNKNOWN IMPORTED)
    set_target_properties(caf::core PROPERTIES
      IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
  endif()
endif()
