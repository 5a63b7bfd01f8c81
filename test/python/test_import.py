"""`PYTHONPATH=python python3 -c "import kiln"` works after `make build`:
the package finds the build tree's libraries by itself."""
import os

import pytest

from conftest import BUILD, PYTHON, ROOT, run


@pytest.mark.skipif(BUILD.resolve() != (ROOT / "build").resolve(),
                    reason="the source tree's package uses build/")
def test_import_from_source_tree(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KILN_LIBRARY_DIR"}
    env["PYTHONPATH"] = str(ROOT / "python")
    code = ("import kiln, kiln._lib as lib\n"
            "print(lib.runtime()._name)\n"
            "print(kiln.get_num_threads())\n")
    out = run([PYTHON, "-c", code], env=env, cwd=tmp_path).stdout.split()
    assert out[0].endswith("build/lib/libkiln_runtime.so.1"), out
    assert int(out[1]) >= 1


def test_library_not_found_is_a_clear_error(tmp_path):
    env = dict(os.environ, KILN_LIBRARY_DIR=str(tmp_path),
               PYTHONPATH=str(ROOT / "python"))
    code = ("import kiln\n"
            "try:\n"
            "    kiln.load('x.so')\n"
            "except kiln.Error as e:\n"
            "    print(e)\n")
    out = run([PYTHON, "-c", code], env=env, cwd=tmp_path).stdout
    assert "cannot find libkiln_runtime.so.1" in out and str(tmp_path) in out
