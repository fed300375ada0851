# find_package(TorchMT) for C++ projects: the imported target TorchMT::torch_mt
# (libtorch_mt.so, the runtime and every mt operator, no Python) with its
# public headers (#include <torch_mt/parallel.h>) and libtorch.
#
#   cmake -DCMAKE_PREFIX_PATH="$(python -c 'import torch, torch_mt;
#       print(torch.utils.cmake_prefix_path + ";" + torch_mt.cmake_prefix_path)')" ...
#
# This file lives in <torch_mt package>/share/cmake/TorchMT/.
get_filename_component(_torch_mt_package "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

include(CMakeFindDependencyMacro)
find_dependency(Torch)

if(NOT TARGET TorchMT::torch_mt)
  add_library(TorchMT::torch_mt SHARED IMPORTED)
  set_target_properties(TorchMT::torch_mt PROPERTIES
    IMPORTED_LOCATION "${_torch_mt_package}/lib/libtorch_mt.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_torch_mt_package}/include"
    INTERFACE_LINK_LIBRARIES "${TORCH_LIBRARIES}"
    # The operators register themselves when the library loads; a program
    # that calls none of its functions directly must still keep it.
    INTERFACE_LINK_OPTIONS "LINKER:--no-as-needed")
endif()

set(TorchMT_LIBRARY "${_torch_mt_package}/lib/libtorch_mt.so")
set(TorchMT_INCLUDE_DIRS "${_torch_mt_package}/include")
set(TorchMT_FOUND TRUE)
unset(_torch_mt_package)
