"""Writes the .npy files the tool tests feed to kiln-run, good and bad."""
import sys
import numpy as np

d = sys.argv[1]
x = np.arange(6, dtype=np.float32).reshape(2, 3)
b = np.array([0.5, -1.0, 2.0], np.float32)
np.save(f"{d}/x.npy", x)
np.save(f"{d}/b.npy", b)
np.save(f"{d}/want.npy", x * np.arange(1, 7, dtype=np.float32).reshape(2, 3) + b)
np.save(f"{d}/bad_want.npy", x)
np.save(f"{d}/x_i32.npy", x.astype(np.int32))
np.save(f"{d}/x_3x2.npy", x.reshape(3, 2))
raw = open(f"{d}/x.npy", "rb").read()
open(f"{d}/truncated.npy", "wb").write(raw[:-5])
open(f"{d}/garbage.npy", "wb").write(b"this is not a numpy file at all")
open(f"{d}/bighdr.npy", "wb").write(raw[:8] + b"\xff\xff" + raw[10:40])
np.save(f"{d}/fortran.npy", np.asfortranarray(np.ones((2, 3), np.float32)))
