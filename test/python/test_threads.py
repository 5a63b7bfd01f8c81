"""Thread pools and concurrency: one module called from several Python
threads at once; modules outliving everything that made them."""
import gc
import threading

import numpy as np
import pytest

import kiln
from conftest import make_onnx_mlp


def test_thread_count_control(add_mlir):
    kiln.set_num_threads(2)
    assert kiln.get_num_threads() == 2
    m = kiln.compile(add_mlir)
    assert m.num_threads == 2
    m.num_threads = 1
    assert m.num_threads == 1 and kiln.get_num_threads() == 2
    m.num_threads = None
    assert m.num_threads == 2
    assert kiln.compile(add_mlir, num_threads=3).num_threads == 3
    kiln.set_num_threads(0)  # one per core
    assert kiln.get_num_threads() >= 1
    with pytest.raises(ValueError):
        kiln.set_num_threads(-1)
    with pytest.raises(kiln.RuntimeError, match="out of range"):
        kiln.set_num_threads(100000)


@pytest.mark.parametrize("aot", [False, True])
def test_concurrent_calls(tmp_path, aot):
    path, w, b = make_onnx_mlp(tmp_path / "mlp.onnx")
    m = kiln.compile(path, aot=aot)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 8)).astype(np.float32) for _ in range(8)]
    want = [m(x) for x in xs]
    errors = []

    def worker(t):
        try:
            for r in range(50):
                i = (t + r) % len(xs)
                got = m(xs[i])
                if not np.array_equal(got, want[i]):
                    errors.append("thread %d run %d differs" % (t, r))
        except Exception as e:  # reported below, not lost in the thread
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t, )) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    np.testing.assert_allclose(want[0], np.maximum(xs[0] @ w + b, 0),
                               atol=1e-5, rtol=1e-4)


def test_module_outlives_its_session_and_inputs(add_mlir):
    m = kiln.compile(add_mlir)  # the compiler session is gone already
    gc.collect()
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(m(x, np.zeros(3, np.float32)),
                                  [[1, 2, 3], [4, 5, 6]])
    # An entry view keeps the model alive after the module is dropped.
    e = m.entry("main")
    del m
    gc.collect()
    np.testing.assert_array_equal(e(x, np.ones(3, np.float32)),
                                  [[2, 3, 4], [5, 6, 7]])
