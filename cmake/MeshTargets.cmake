# Helpers every module uses, so warnings and test registration stay uniform.

set(MESH_WARNINGS -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wold-style-definition -Wvla -Wnull-dereference
    -Wimplicit-fallthrough -Wundef -Wwrite-strings -Wpointer-arith
    -Werror=implicit-function-declaration)
if(MESH_WERROR)
  list(APPEND MESH_WARNINGS -Werror)
endif()

# mesh_library(NAME SOURCES src... [DEPS target...])
# A static library for one module group; its directory is its include root
# (headers are private, beside their .c), include/ holds the shared ones.
function(mesh_library name)
  cmake_parse_arguments(ML "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ML_SOURCES})
  target_compile_options(${name} PRIVATE ${MESH_WARNINGS})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(${name} PUBLIC ${ML_DEPS})
endfunction()

# mesh_program(NAME SOURCES src... [DEPS target...])
function(mesh_program name)
  cmake_parse_arguments(MP "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${MP_SOURCES})
  target_compile_options(${name} PRIVATE ${MESH_WARNINGS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE ${MP_DEPS})
endfunction()

# mesh_unit_test(NAME [DEPS target...]): tests/unit/NAME.c, label "unit".
function(mesh_unit_test name)
  cmake_parse_arguments(MU "" "" "DEPS" ${ARGN})
  add_executable(${name} ${CMAKE_SOURCE_DIR}/tests/unit/${name}.c)
  target_compile_options(${name} PRIVATE ${MESH_WARNINGS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE ${MU_DEPS} PkgConfig::CMOCKA)
  add_test(NAME unit.${name} COMMAND ${name})
  set_tests_properties(unit.${name} PROPERTIES LABELS unit TIMEOUT 120
    ENVIRONMENT "ASAN_OPTIONS=abort_on_error=1:detect_leaks=1;UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endfunction()

# mesh_script_test(NAME LABEL SCRIPT [TIMEOUT s]): a shell test run as root
# in namespaces. Exit 77 = skipped (not root, no netns). Names are unique per
# run, but these tests share one lock so that timing-sensitive scenarios do not
# compete for the two cores while unit tests run in parallel beside them.
function(mesh_script_test name label script)
  cmake_parse_arguments(MS "" "TIMEOUT" "" ${ARGN})
  if(NOT MS_TIMEOUT)
    set(MS_TIMEOUT 300)
  endif()
  add_test(NAME ${label}.${name} COMMAND bash ${script})
  set_tests_properties(${label}.${name} PROPERTIES LABELS ${label} TIMEOUT ${MS_TIMEOUT}
    SKIP_RETURN_CODE 77 RESOURCE_LOCK netns
    ENVIRONMENT "MESH_BUILD_DIR=${CMAKE_BINARY_DIR};MESH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()

configure_file(${CMAKE_SOURCE_DIR}/include/mesh/version.h.in
               ${CMAKE_BINARY_DIR}/include/mesh/version.h @ONLY)
include_directories(${CMAKE_BINARY_DIR}/include)
