# `make install` / `cmake --install`: the runtime and compiler C API
# (headers and libraries), the tools, the Python package, and the CMake
# package config (find_package(kiln) with targets kiln::runtime and
# kiln::compiler). Installed binaries find their libraries through
# $ORIGIN-relative RPATHs, so a prefix can be moved as a whole (DESTDIR
# staging works too).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KILN_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/kiln CACHE STRING
    "Where kilnConfig.cmake is installed, relative to the prefix")

# The Python package goes where Debian's python3 looks under the prefix
# (/usr/local/lib/python3.X/dist-packages for the default prefix).
set(KILN_PYTHON /usr/bin/python3 CACHE FILEPATH
    "The Python whose version names the package's install directory")
execute_process(
  COMMAND ${KILN_PYTHON} -c
    "import sys; print('python%d.%d' % sys.version_info[:2])"
  OUTPUT_VARIABLE KILN_PYTHON_NAME OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE KILN_PYTHON_RC)
if(NOT KILN_PYTHON_RC EQUAL 0 OR NOT KILN_PYTHON_NAME)
  set(KILN_PYTHON_NAME python3)
endif()
set(KILN_INSTALL_PYTHONDIR
    ${CMAKE_INSTALL_LIBDIR}/${KILN_PYTHON_NAME}/dist-packages CACHE STRING
    "Where the kiln Python package is installed, relative to the prefix")

# RPATHs: the tools and libraries find kiln's libraries next to them, and
# libMLIR/libLLVM where the packaged LLVM keeps them.
file(RELATIVE_PATH _kiln_bin_to_lib
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR})
foreach(_t kiln-compile kiln-run kiln-opt)
  set_target_properties(${_t} PROPERTIES
    INSTALL_RPATH "$ORIGIN/${_kiln_bin_to_lib}"
    INSTALL_RPATH_USE_LINK_PATH ON)
endforeach()
set_target_properties(kiln_compiler PROPERTIES
  INSTALL_RPATH "$ORIGIN" INSTALL_RPATH_USE_LINK_PATH ON)

# The targets find_package(kiln) imports.
set_target_properties(kiln_runtime PROPERTIES EXPORT_NAME runtime)
target_include_directories(kiln_runtime INTERFACE
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
install(TARGETS kiln_runtime kiln_compiler
  EXPORT kilnTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT kilnTargets
  NAMESPACE kiln::
  DESTINATION ${KILN_INSTALL_CMAKEDIR})
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/kilnConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/kilnConfig.cmake
  INSTALL_DESTINATION ${KILN_INSTALL_CMAKEDIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/cmake/kilnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/kilnConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/kilnConfigVersion.cmake
  DESTINATION ${KILN_INSTALL_CMAKEDIR})

# Headers: the two C APIs.
install(FILES ${PROJECT_SOURCE_DIR}/runtime/include/kiln/runtime.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kiln)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kiln-c
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

install(TARGETS kiln-compile kiln-run kiln-opt
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The Python package, plus a generated module that tells it where the
# libraries are, relative to itself.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/kiln
  DESTINATION ${KILN_INSTALL_PYTHONDIR}
  PATTERN "__pycache__" EXCLUDE)
file(RELATIVE_PATH KILN_PYTHON_TO_LIBDIR
     ${CMAKE_INSTALL_PREFIX}/${KILN_INSTALL_PYTHONDIR}/kiln
     ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR})
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/python/kiln/_install.py
  CONTENT [[
"""Written by kiln's install rules: where the installed libraries are."""
LIBRARY_DIR = "@KILN_PYTHON_TO_LIBDIR@"  # relative to this package
]] @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/python/kiln/_install.py
  DESTINATION ${KILN_INSTALL_PYTHONDIR}/kiln)
