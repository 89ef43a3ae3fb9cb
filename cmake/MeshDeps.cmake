# Finds every external dependency once and exposes it as an imported target.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium>=1.0.18)
pkg_check_modules(UV REQUIRED IMPORTED_TARGET libuv>=1.44)
pkg_check_modules(CJSON REQUIRED IMPORTED_TARGET libcjson>=1.7.15)
pkg_check_modules(MNL REQUIRED IMPORTED_TARGET libmnl>=1.0.4)
pkg_check_modules(NFTABLES REQUIRED IMPORTED_TARGET libnftables>=1.0)
find_package(SQLite3 REQUIRED)

# http-parser ships neither a .pc nor a CMake config on Debian 12.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIB http_parser REQUIRED)
add_library(HttpParser::http_parser INTERFACE IMPORTED)
target_include_directories(HttpParser::http_parser INTERFACE ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(HttpParser::http_parser INTERFACE ${HTTP_PARSER_LIB})

# mbedTLS 2.28 (Debian 12) ships neither: make the upstream 3.x target names.
find_path(MBEDTLS_INCLUDE_DIR mbedtls/ssl.h REQUIRED)
find_library(MBEDTLS_LIB mbedtls REQUIRED)
find_library(MBEDX509_LIB mbedx509 REQUIRED)
find_library(MBEDCRYPTO_LIB mbedcrypto REQUIRED)
add_library(MbedTLS::mbedcrypto INTERFACE IMPORTED)
target_include_directories(MbedTLS::mbedcrypto INTERFACE ${MBEDTLS_INCLUDE_DIR})
target_link_libraries(MbedTLS::mbedcrypto INTERFACE ${MBEDCRYPTO_LIB})
add_library(MbedTLS::mbedx509 INTERFACE IMPORTED)
target_link_libraries(MbedTLS::mbedx509 INTERFACE ${MBEDX509_LIB} MbedTLS::mbedcrypto)
add_library(MbedTLS::mbedtls INTERFACE IMPORTED)
target_link_libraries(MbedTLS::mbedtls INTERFACE ${MBEDTLS_LIB} MbedTLS::mbedx509)

if(BUILD_TESTING)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka>=1.1)
endif()
