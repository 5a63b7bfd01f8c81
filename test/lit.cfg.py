# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "Inputs",
                   "e2e", "onnx", "bench", "Inputs", "fuzz"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%kiln_src", config.kiln_src_root))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%kiln_obj", config.kiln_obj_root))

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()

tool_dirs = [config.kiln_tools_dir, config.llvm_tools_dir]
tools = ["kiln-opt", "kiln-compile", "kiln-run", "kiln-example-c-host",
         "FileCheck", "not", "count", "mlir-opt", "mlir-translate"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
config.substitutions.append(("%readelf", "readelf"))


# cuda-gpu: a CUDA driver and at least one GPU (tests that need one say
# REQUIRES: cuda-gpu and are reported UNSUPPORTED elsewhere).
def _has_cuda_gpu():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return (cuda.cuInit(0) == 0 and
                cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0)
    except OSError:
        return False


if _has_cuda_gpu():
    config.available_features.add("cuda-gpu")
else:
    lit_config.note("no CUDA driver or GPU: tests that REQUIRE cuda-gpu are skipped")

# cuda-toolkit: libdevice and ptxas at /usr/local/cuda, which kiln-compile
# --target=cuda uses by default (tests that compile kernels REQUIRE it).
if (os.path.exists("/usr/local/cuda/nvvm/libdevice/libdevice.10.bc") and
        os.access("/usr/local/cuda/bin/ptxas", os.X_OK)):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", "/usr/local/cuda/bin/ptxas"))
else:
    lit_config.note("no CUDA toolkit at /usr/local/cuda: tests that REQUIRE "
                    "cuda-toolkit are skipped")
