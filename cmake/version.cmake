# Run at every build (cmake -P, from src/cli/CMakeLists.txt): writes the
# header that `postbridge --version` prints from, with the project version
# and the checkout's `git describe`. configure_file leaves the file alone
# when nothing changed, so only a new commit (or a change to a clean tree)
# recompiles the one file that includes it.
#
# In:  PB_VERSION, PB_SOURCE_DIR, PB_OUTPUT.
# A tree without git (a copy made by scripts/fresh-debian) says so instead of
# guessing; scripts/package passes the checkout's in PB_GIT_DESCRIBE.
set(describe "$ENV{PB_GIT_DESCRIBE}")  # given by scripts/package for its copy
find_program(GIT git)
if(describe STREQUAL "" AND GIT AND EXISTS "${PB_SOURCE_DIR}/.git")
  execute_process(COMMAND "${GIT}" -C "${PB_SOURCE_DIR}" describe --always --dirty --tags
                  OUTPUT_VARIABLE describe OUTPUT_STRIP_TRAILING_WHITESPACE
                  ERROR_QUIET RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    set(describe "")
  endif()
endif()
if(describe STREQUAL "")
  set(describe "no git")
endif()
set(PB_GIT_DESCRIBE "${describe}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/version.hpp.in" "${PB_OUTPUT}" @ONLY)
