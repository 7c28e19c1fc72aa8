# Fallback for installed ITK trees (Debian's ITK 5.2, any `make install`), which ship no
# ITKModuleMacros / ITKModuleExternal. It defines just enough of ITK's module API that
# src/ and test/ read exactly as in the other two build modes.
include(CTest)
include(GenerateExportHeader)

macro(itk_module _name)
  cmake_parse_arguments(_m "ENABLE_SHARED;EXCLUDE_FROM_DEFAULT" "DESCRIPTION"
    "DEPENDS;PRIVATE_DEPENDS;COMPILE_DEPENDS;TEST_DEPENDS;FACTORY_NAMES" ${ARGN})
  set(itk-module ${_name})
  set(${_name}_PUBLIC_DEPENDS ${_m_DEPENDS})
  set(${_name}_DEPENDS ${_m_DEPENDS} ${_m_PRIVATE_DEPENDS} ${_m_COMPILE_DEPENDS})
  list(REMOVE_ITEM _m_TEST_DEPENDS ITKGoogleTest) # Debian's ITKGoogleTest exports nothing
  set(${_name}_TEST_DEPENDS ${_m_TEST_DEPENDS})
  set(${_name}_ENABLE_SHARED ${_m_ENABLE_SHARED})
endmacro()
include(${PROJECT_SOURCE_DIR}/itk-module.cmake)

set(_dapsmri_components ${${itk-module}_DEPENDS})
if(BUILD_TESTING OR DAPSMRI_BUILD_APPS)
  list(APPEND _dapsmri_components ${${itk-module}_TEST_DEPENDS})
endif()
find_package(ITK 5.2 REQUIRED COMPONENTS ${_dapsmri_components})
include(${ITK_USE_FILE})

function(itk_module_add_library _name)
  set(_type "")
  if(${_name}_ENABLE_SHARED)
    set(_type SHARED) # as ITK does for ENABLE_SHARED modules
  endif()
  add_library(${_name} ${_type} ${ARGN})
  target_include_directories(${_name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:${DAPSMRI_INSTALL_INCLUDEDIR}>)
  # As ITK links a module: its DEPENDS publicly (what the public headers include), the rest privately
  # (the image IO the library registers and reads with).
  set(_public_libraries "")
  foreach(_module IN LISTS ${_name}_PUBLIC_DEPENDS)
    list(APPEND _public_libraries ${${_module}_LIBRARIES})
  endforeach()
  target_link_libraries(${_name} PUBLIC ${_public_libraries} PRIVATE ${ITK_LIBRARIES})
  generate_export_header(${_name}
    EXPORT_FILE_NAME ${PROJECT_BINARY_DIR}/include/${_name}Export.h
    EXPORT_MACRO_NAME ${_name}_EXPORT
    NO_EXPORT_MACRO_NAME ${_name}_HIDDEN
    STATIC_DEFINE ITK_STATIC)
endfunction()

macro(itk_module_test)
  set(${itk-module}-Test_LIBRARIES ${itk-module} ${ITK_LIBRARIES})
endmacro()

function(CreateGoogleTestDriver _kit _libs _tests)
  find_package(GTest REQUIRED)
  include(GoogleTest)
  add_executable(${_kit}GTestDriver ${_tests})
  target_link_libraries(${_kit}GTestDriver PRIVATE ${_libs} GTest::gtest GTest::gtest_main)
  gtest_discover_tests(${_kit}GTestDriver DISCOVERY_TIMEOUT 60)
endfunction()

add_subdirectory(src)
if(BUILD_TESTING)
  add_subdirectory(test)
endif()
if(DAPSMRI_BUILD_APPS)
  add_subdirectory(apps)
endif()
if(DAPSMRI_BUILD_BENCHMARKS)
  add_subdirectory(benchmarks)
endif()
if(DAPSMRI_BUILD_PYTHON)
  add_subdirectory(bindings/python)
endif()
include(${PROJECT_SOURCE_DIR}/cmake/DAPSMRIInstall.cmake)
if(EXISTS ${PROJECT_SOURCE_DIR}/wrapping/CMakeLists.txt)
  message(STATUS "${itk-module}: Python wrapping needs an ITK build tree with ITK_WRAP_PYTHON=ON; skipped")
endif()
