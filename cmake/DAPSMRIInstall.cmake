# The install tree and the Debian package of a standalone build (inside an ITK tree, ITK's module
# system installs and exports the library itself). Everything lands in the GNU places, relative to
# the prefix, so an install tree can be moved or unpacked anywhere: the tools and the Python module
# find the library through an RPATH relative to themselves, the library finds the prior relative to
# itself (dapsmri::Prior::ShippedModelPath).
include(CMakePackageConfigHelpers)

set(DAPSMRI_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/DAPSMRI)
set(DAPSMRI_INSTALL_MODELDIR ${CMAKE_INSTALL_DATADIR}/dapsmri/models)
# LibTorch or CUDA outside the system's library folders (a pip PyTorch) stay found once installed.
set(CMAKE_INSTALL_RPATH_USE_LINK_PATH ON)

# Where `from` finds the library, as an RPATH relative to `from` (a folder of the install tree).
function(dapsmri_relative_rpath target from)
  file(RELATIVE_PATH _to_libdir ${CMAKE_INSTALL_PREFIX}/${from} ${CMAKE_INSTALL_FULL_LIBDIR})
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/${_to_libdir}")
endfunction()

set_target_properties(DAPSMRI PROPERTIES VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
install(TARGETS DAPSMRI EXPORT DAPSMRITargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${DAPSMRI_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "*.hxx")
install(FILES ${PROJECT_BINARY_DIR}/include/DAPSMRIExport.h ${PROJECT_BINARY_DIR}/include/dapsmriConfigure.h
  DESTINATION ${DAPSMRI_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/models/brain_prior.pt ${PROJECT_SOURCE_DIR}/models/README.md
  DESTINATION ${DAPSMRI_INSTALL_MODELDIR})
set(DAPSMRI_PACKAGE_CONTACT "DAPSMRI developers <dapsmri@localhost>" CACHE STRING
  "The .deb's Maintainer field (name <email>): whoever builds and distributes the package")
# The documentation Debian expects of every package (copyright, changelog.gz), for every install.
string(TIMESTAMP _changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(READ ${PROJECT_SOURCE_DIR}/cmake/debian/changelog.in _changelog)
string(REPLACE "@DATE@" "${_changelog_date}" _changelog "${_changelog}")
string(CONFIGURE "${_changelog}" _changelog @ONLY)
file(WRITE ${PROJECT_BINARY_DIR}/debian/changelog "${_changelog}")
execute_process(COMMAND gzip -9 -n -f ${PROJECT_BINARY_DIR}/debian/changelog)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/cmake/debian/copyright
  ${PROJECT_BINARY_DIR}/debian/changelog.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/dapsmri)

install(EXPORT DAPSMRITargets NAMESPACE DAPSMRI:: DESTINATION ${DAPSMRI_INSTALL_CMAKEDIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/DAPSMRIConfig.cmake.in
  ${PROJECT_BINARY_DIR}/DAPSMRIConfig.cmake
  INSTALL_DESTINATION ${DAPSMRI_INSTALL_CMAKEDIR}
  PATH_VARS DAPSMRI_INSTALL_MODELDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/DAPSMRIConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/DAPSMRIConfig.cmake ${PROJECT_BINARY_DIR}/DAPSMRIConfigVersion.cmake
  DESTINATION ${DAPSMRI_INSTALL_CMAKEDIR})

if(DAPSMRI_BUILD_APPS)
  foreach(_tool IN LISTS DAPSMRI_TOOLS)
    dapsmri_relative_rpath(${_tool} ${CMAKE_INSTALL_BINDIR})
  endforeach()
endif()
if(TARGET _dapsmri)
  dapsmri_relative_rpath(_dapsmri ${DAPSMRI_INSTALL_PYTHONDIR}/dapsmri)
endif()

# `cpack -G DEB` in a build configured with -DCMAKE_INSTALL_PREFIX=/usr (Debian's layout:
# multiarch library folder, /usr/lib/python3/dist-packages). The runtime dependencies are read from
# the binaries by dpkg-shlibdeps, so they name Debian's own packages of ITK, LibTorch, FFTW, ISMRMRD.
set(CPACK_PACKAGE_NAME dapsmri)
set(CPACK_PACKAGE_VENDOR "DAPSMRI")
set(CPACK_PACKAGE_CONTACT ${DAPSMRI_PACKAGE_CONTACT})
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "diffusion-prior (DAPS) MRI reconstruction for ITK
Reconstructs undersampled multi-coil Cartesian MRI data (ISMRMRD raw data or
k-space images) with a learned diffusion prior by Decoupled Annealing
Posterior Sampling: ITK filters (C++ library, headers, CMake package),
command-line tools that are also 3D Slicer modules, and the dapsmri Python
module. Also super-resolution, inpainting, deblurring, phase retrieval and
HDR restoration filters. Ships a brain prior trained on the Colin27 template.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/src)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, python3-numpy")
# find_package(DAPSMRI) needs ITK's CMake files.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "libinsighttoolkit5-dev")
set(CPACK_STRIP_FILES ON)
include(CPack)
