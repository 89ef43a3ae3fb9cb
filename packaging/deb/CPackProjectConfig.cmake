# Read by cpack for each generator (CPACK_PROJECT_CONFIG_FILE). The install
# rules put /etc and man paths in place at configure time, for the prefix of
# that time: a .deb from a /usr/local build would ship /usr/local/etc.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_MESH_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "cpack -G DEB needs a build configured with -DCMAKE_INSTALL_PREFIX=/usr "
                      "(this one has ${CPACK_MESH_INSTALL_PREFIX}); see packaging/README.md")
endif()
