# Helpers that every folder uses, so that warnings and layout stay uniform.

# Per-target warnings (style.md): -Werror only when PB_WERROR is on (CI).
function(pb_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion
                                           -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough)
  if(PB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    # g++ 12 with -fsanitize reports maybe-uninitialized inside libstdc++'s
    # std::function and std::regex (false positives): warn, don't fail.
    if(PB_SANITIZE AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-error=maybe-uninitialized)
    endif()
  endif()
endfunction()

# pb_library(NAME SOURCES ... [DEPS ...]): a domain library pb_NAME, with
# src/ on its include path so that includes read "smtp/client.hpp".
function(pb_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(pb_${name} STATIC ${ARG_SOURCES})
  target_include_directories(pb_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(pb_${name} PUBLIC ${ARG_DEPS})
  pb_warnings(pb_${name})
endfunction()

# pb_test(NAME SOURCES ... [DEPS ...] [LABELS ...] [FIXTURES ...]): a GoogleTest
# binary whose cases become ctest tests. FIXTURES names ctest fixtures (e.g.
# peers) whose servers must run first; PB_PEERS_ENV tells the test where the
# peers wrote their addresses.
function(pb_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS;FIXTURES" ${ARGN})
  if(PB_TSAN AND NOT name IN_LIST PB_THREADED_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} pb_testsupport GTest::gtest_main GTest::gmock)
  pb_warnings(${name})
  # Where the peers, the binary and the sources are is compiled into
  # pb_testsupport (tests/CMakeLists.txt): a ctest ENVIRONMENT list does not
  # survive gtest_discover_tests' PROPERTIES.
  # gtest_discover_tests flattens PROPERTIES: one label and one fixture
  # each (a fixture that needs another, like interop, brings it along).
  set(props TIMEOUT 300)
  if(ARG_LABELS)
    list(APPEND props LABELS "${ARG_LABELS}")
  endif()
  if(ARG_FIXTURES)
    list(APPEND props FIXTURES_REQUIRED "${ARG_FIXTURES}")
  endif()
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST TEST_PREFIX "${name}." PROPERTIES ${props})
endfunction()

# pb_bench(NAME SOURCES ... [DEPS ...]): a Google Benchmark binary. Benchmarks
# are run by hand or by scripts/bench, never as timed unit tests.
function(pb_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark)
  pb_warnings(${name})
endfunction()

# pb_fuzz(NAME SOURCES ... [DEPS ...]): a libFuzzer target (clang only,
# PB_BUILD_FUZZ=ON). scripts/test runs each for a short time; the corpus of
# fuzz/corpus/NAME seeds it when present.
function(pb_fuzz name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  set_property(GLOBAL APPEND PROPERTY PB_FUZZ_TARGETS ${name})
endfunction()
