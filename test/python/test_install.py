"""`make install`'s rules: install into a temporary prefix, then build the
two example hosts against the installed package with CMake
(find_package(kiln)) and run them, and use the installed tools and Python
package. Also the in-tree C++ host on the bundled Llama-style demo model."""
import os
import shutil

import numpy as np
import pytest

from conftest import BUILD, PYTHON, ROOT, make_onnx_mlp, run

CMAKE_ENV = dict(os.environ, CC="clang-22", CXX="clang++-22")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    """kiln installed into a fresh prefix (staged with DESTDIR, as packagers
    do, then used from there)."""
    root = tmp_path_factory.mktemp("install")
    stage = root / "stage"
    run(["cmake", "--install", BUILD, "--prefix", "/opt/kiln"],
        env=dict(os.environ, DESTDIR=str(stage)))
    return stage / "opt" / "kiln"


def build_example(prefix, name, tmp_path):
    """Configures and builds examples/<name> against the installed kiln."""
    src = tmp_path / name
    shutil.copytree(ROOT / "examples" / name, src)
    out = tmp_path / (name + "-build")
    run([
        "cmake", "-S", src, "-B", out, "-G", "Ninja",
        "-DCMAKE_PREFIX_PATH=%s" % prefix, "-DCMAKE_BUILD_TYPE=Release"
    ], env=CMAKE_ENV)
    run(["cmake", "--build", out], env=CMAKE_ENV)
    return out


def test_installed_files(prefix):
    for f in ("include/kiln/runtime.h", "include/kiln-c/compiler.h",
              "lib/libkiln_runtime.so.1", "lib/libkiln_compiler.so.1",
              "lib/cmake/kiln/kilnConfig.cmake",
              "lib/cmake/kiln/kilnTargets.cmake", "bin/kiln-compile",
              "bin/kiln-run", "bin/kiln-opt"):
        assert (prefix / f).exists(), f
    # The compiler library exports its C API only.
    syms = run(["nm", "-D", "--defined-only", "--extern-only",
                prefix / "lib/libkiln_compiler.so.1"]).stdout.split("\n")
    names = {s.split()[-1] for s in syms if s.strip()}
    assert names and all(n.startswith("kiln_compiler_") for n in names), \
        sorted(n for n in names if not n.startswith("kiln_compiler_"))[:10]


def test_hosts_against_installed_package(prefix, tmp_path):
    c_host = build_example(prefix, "c-host", tmp_path)
    cpp_host = build_example(prefix, "cpp-jit-host", tmp_path)

    model, w, b = make_onnx_mlp(tmp_path / "mlp.onnx")
    x = np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    want = np.maximum(x @ w + b, 0)
    np.save(tmp_path / "want.npy", want)

    # The C host runs an artifact compiled by the installed kiln-compile.
    so = tmp_path / "mlp.so"
    run([prefix / "bin/kiln-compile", model, "-o", so])
    out = run([c_host / "kiln-example-c-host", so, tmp_path / "x.npy"]).stdout
    assert out.startswith("y f32 [4x5]"), out
    first = [float(v) for v in out.split()[3:]]
    np.testing.assert_allclose(first, want.reshape(-1)[:len(first)],
                               atol=1e-5, rtol=1e-4)

    # The C++ host JIT-compiles the ONNX file and runs it from 4 threads.
    out = run([
        cpp_host / "kiln-example-cpp-jit-host", model, tmp_path / "x.npy",
        "--expect", tmp_path / "want.npy", "--threads", "4", "--runs", "10"
    ]).stdout
    assert "y: max_abs_err=" in out and "4 threads x 10 runs: 0 failed, 0 " \
        "outputs differ" in out and out.rstrip().endswith("ok"), out


def test_installed_python_package(prefix, tmp_path):
    pydirs = list((prefix / "lib").glob("python3*/dist-packages"))
    assert len(pydirs) == 1, pydirs
    env = {k: v for k, v in os.environ.items() if k != "KILN_LIBRARY_DIR"}
    env["PYTHONPATH"] = str(pydirs[0])
    model, w, b = make_onnx_mlp(tmp_path / "mlp.onnx")
    code = (
        "import kiln, numpy as np, sys\n"
        "assert kiln.__file__.startswith(%r), kiln.__file__\n"
        "m = kiln.compile(%r, output=%r)\n"
        "x = np.ones((4, 8), np.float32)\n"
        "np.save(%r, kiln.load(%r)(x))\n" %
        (str(pydirs[0]), str(model), str(tmp_path / "m.so"),
         str(tmp_path / "y.npy"), str(tmp_path / "m.so")))
    run([PYTHON, "-c", code], env=env, cwd=tmp_path)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"),
                               np.maximum(np.ones((4, 8)) @ w + b, 0),
                               atol=1e-5, rtol=1e-4)


def test_cpp_host_on_demo_model():
    """The in-tree C++ host: the Llama-style demo model, JIT-compiled, run
    from 3 threads at once, its logits checked against PyTorch's."""
    demo = ROOT / "examples" / "demo"
    out = run([
        BUILD / "bin" / "kiln-example-cpp-jit-host", demo / "tiny_llama.onnx",
        demo / "input_ids.npy", "--expect", demo / "logits.npy", "--threads",
        "3", "--runs", "4"
    ]).stdout
    assert "3 threads x 4 runs: 0 failed, 0 outputs differ" in out, out
    assert out.rstrip().endswith("ok"), out
