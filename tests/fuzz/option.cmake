# Included by the top-level CMakeLists.txt: the CAREWATCH_FUZZ option, off
# by default, adds the libFuzzer targets of tests/fuzz (tests/fuzz/README).
option(CAREWATCH_FUZZ "build the libFuzzer targets of tests/fuzz (clang, Sanitize build type)" OFF)
if(CAREWATCH_FUZZ)
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR} ${PROJECT_BINARY_DIR}/tests/fuzz)
endif()
