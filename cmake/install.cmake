# Installs the library, its headers, a CMake package (find_package(shmkit))
# and a pkg-config file (pkg-config --cflags --libs shmkit).
include(CMakePackageConfigHelpers)

set(SHMKIT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/shmkit)

install(TARGETS shmkit EXPORT shmkit-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/shmkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT shmkit-targets NAMESPACE shmkit:: FILE shmkit-targets.cmake
  DESTINATION ${SHMKIT_CMAKE_DIR})
export(EXPORT shmkit-targets NAMESPACE shmkit:: FILE ${PROJECT_BINARY_DIR}/shmkit-targets.cmake)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/shmkit-config.cmake.in
  ${PROJECT_BINARY_DIR}/shmkit-config.cmake INSTALL_DESTINATION ${SHMKIT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/shmkit-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/shmkit-config.cmake ${PROJECT_BINARY_DIR}/shmkit-config-version.cmake
  DESTINATION ${SHMKIT_CMAKE_DIR})

# Relocatable: the prefix is found from where the .pc file lies.
file(RELATIVE_PATH SHMKIT_PC_TO_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(${PROJECT_SOURCE_DIR}/cmake/shmkit.pc.in ${PROJECT_BINARY_DIR}/shmkit.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/shmkit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
