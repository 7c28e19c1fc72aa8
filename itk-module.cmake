# The one list of this module's ITK dependencies, read in every build mode.
get_filename_component(MY_CURRENT_DIR "${CMAKE_CURRENT_LIST_FILE}" PATH)
file(READ "${MY_CURRENT_DIR}/README.md" DOCUMENTATION)

itk_module(DAPSMRI
  ENABLE_SHARED
  DEPENDS
    ITKCommon
    ITKIOImageBase
  PRIVATE_DEPENDS
    ITKIOMeta
    ITKIONIFTI
    ITKIONRRD
    ITKIOPNG
  COMPILE_DEPENDS
    ITKImageSources
  TEST_DEPENDS
    ITKTestKernel
    ITKGoogleTest
  EXCLUDE_FROM_DEFAULT
  DESCRIPTION
    "Diffusion-prior (DAPS) MRI reconstruction as ITK filters."
)
