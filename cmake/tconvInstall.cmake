# Package files for embedding tconv: the CMake package (tconvConfig.cmake), pkg-config files and
# the Debian packages (CPack). The library and program install rules sit next to their targets
# (kernels/, tools/, bench/); the dependency lists come from kernels/CMakeLists.txt.
include(CMakePackageConfigHelpers)

set(TCONV_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tconv)
set(TCONV_PC_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- CMake package: find_package(tconv 0.2 CONFIG) ---------------------------------------------
install(EXPORT tconvTargets NAMESPACE tconv:: DESTINATION ${TCONV_CMAKE_INSTALL_DIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/tconvConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tconvConfig.cmake INSTALL_DESTINATION ${TCONV_CMAKE_INSTALL_DIR})
# SameMinorVersion: while the major version is 0, a minor release may change the API (0.2 adds
# fields to tconv_plan_options), so find_package(tconv 0.2) accepts 0.2.x only. SameMajorVersion
# would accept 0.3 for a 0.2 request, which 0.x does not promise. Revisit at 1.0.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/tconvConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/tconvConfig.cmake ${PROJECT_BINARY_DIR}/tconvConfigVersion.cmake
  DESTINATION ${TCONV_CMAKE_INSTALL_DIR} COMPONENT dev)

# ---- pkg-config: tconv.pc (shared library; --static adds the private dependencies) and
# tconv_static.pc (libtconv_static.a, whose dependencies are always needed) ------------------
file(RELATIVE_PATH TCONV_PC_PREFIX_FROM_PCDIR ${CMAKE_INSTALL_PREFIX}/${TCONV_PC_INSTALL_DIR}
  ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" TCONV_PC_PREFIX_FROM_PCDIR "${TCONV_PC_PREFIX_FROM_PCDIR}")
list(JOIN TCONV_PC_REQUIRES_PRIVATE " " TCONV_PC_REQUIRES_PRIVATE)
list(JOIN TCONV_PC_LIBS_PRIVATE " " TCONV_PC_LIBS_PRIVATE)
foreach(variant IN ITEMS shared static)
  if(variant STREQUAL "shared")
    set(TCONV_PC_NAME tconv)
    set(TCONV_PC_LIBNAME tconv)
    set(TCONV_PC_LIBS_EXTRA "")
    set(TCONV_PC_DEPS "Requires.private: ${TCONV_PC_REQUIRES_PRIVATE}\nLibs.private: ${TCONV_PC_LIBS_PRIVATE}")
  else()
    set(TCONV_PC_NAME tconv_static)
    set(TCONV_PC_LIBNAME tconv_static)
    set(TCONV_PC_LIBS_EXTRA " ${TCONV_PC_LIBS_PRIVATE}")
    set(TCONV_PC_DEPS "Requires: ${TCONV_PC_REQUIRES_PRIVATE}")
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/tconv.pc.in ${PROJECT_BINARY_DIR}/${TCONV_PC_NAME}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${TCONV_PC_NAME}.pc DESTINATION ${TCONV_PC_INSTALL_DIR} COMPONENT dev)
endforeach()

# ---- Debian packages: cpack -G DEB in the build directory ------------------------------------
set(TCONV_PACKAGE_CONTACT "tconv maintainers <tconv@invalid>" CACHE STRING
  "Maintainer field of the Debian packages")
set(CPACK_PACKAGE_NAME tconv)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${TCONV_PACKAGE_CONTACT}")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it before every component's own summary
# (the first line of each CPACK_DEBIAN_<COMPONENT>_DESCRIPTION below).
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL runtime dev tools) # nothing else is installed; no "Unspecified" package
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)      # name_version_arch.deb
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# dpkg-shlibdeps (dpkg-dev) finds the runtime dependencies of the ELF files; libtconv.so.0 itself
# comes from the build tree (no installed package provides it), so the tools also name libtconv0.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR}/kernels)
set(tconv_exact "libtconv0 (= ${PROJECT_VERSION})")

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libtconv0)  # after the SONAME, libtconv.so.0
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "tconv: 2D transposed convolution on CPUs, shared library
libtconv.so.0: 2D transposed convolution for CPUs with reference, direct, GEMM, sparse and
OpenBLAS algorithms and SSE4.1/AVX2/AVX-512/NEON micro-kernels chosen at run time.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libtconv-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
list(PREPEND TCONV_DEB_DEV_DEPENDS "${tconv_exact}")  # the static library's -dev dependencies follow
list(JOIN TCONV_DEB_DEV_DEPENDS ", " CPACK_DEBIAN_DEV_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_DEV_DESCRIPTION "tconv: 2D transposed convolution on CPUs, development files
tconv.h, the static library libtconv_static.a, the CMake package (find_package(tconv)) and the
pkg-config files tconv.pc and tconv_static.pc.")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME tconv-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION science)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "${tconv_exact}")
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "tconv programs: tconv-info and tconv-bench
tconv-info prints the CPU, ISAs and micro-kernels tconv uses; tconv-bench is the Google
Benchmark harness comparing the algorithms (and oneDNN/XNNPACK when built with them).")
include(CPack)
