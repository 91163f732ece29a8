"""Adjoints of scipy.signal's convolutions: convolve, correlate, fftconvolve, oaconvolve (n-d, modes full,
same and valid) and convolve2d, correlate2d (zero boundary). Registered when scipy.signal is imported
(scipy_loader). Each is bilinear: the adjoint of one operand is the valid correlation of the output's
adjoint, placed in the full convolution, with the other; a correlation convolves with in2 flipped. The
method (direct or FFT) changes nothing but rounding. Convolutions of vectors by np.convolve and
np.correlate are in rules/numpy.py.
"""

from scipy import signal

from ..runtime import convolution_adjoint
from . import adjoint, d
from .tangents import bilinear


@adjoint(signal.convolve, inert=("mode", "method"))
def convolve(y, in1, in2, mode="full", method="auto"):
    d[in1] = convolution_adjoint(d[y], in1, in2, mode, True, False, "scipy")
    d[in2] = convolution_adjoint(d[y], in1, in2, mode, False, False, "scipy")


@adjoint(signal.correlate, inert=("mode", "method"))
def correlate(y, in1, in2, mode="full", method="auto"):
    d[in1] = convolution_adjoint(d[y], in1, in2, mode, True, True, "scipy")
    d[in2] = convolution_adjoint(d[y], in1, in2, mode, False, True, "scipy")


@adjoint(signal.fftconvolve, signal.oaconvolve, inert=("mode",))      # axes= has no rule
def fftconvolve(y, in1, in2, mode="full"):
    d[in1] = convolution_adjoint(d[y], in1, in2, mode, True, False, "scipy")
    d[in2] = convolution_adjoint(d[y], in1, in2, mode, False, False, "scipy")


@adjoint(signal.convolve2d, inert=("mode",))          # boundary= other than 'fill' with 0 has no rule
def convolve2d(y, in1, in2, mode="full"):
    d[in1] = convolution_adjoint(d[y], in1, in2, mode, True, False, "scipy2d")
    d[in2] = convolution_adjoint(d[y], in1, in2, mode, False, False, "scipy2d")


@adjoint(signal.correlate2d, inert=("mode",))
def correlate2d(y, in1, in2, mode="full"):
    d[in1] = convolution_adjoint(d[y], in1, in2, mode, True, True, "scipy2d")
    d[in2] = convolution_adjoint(d[y], in1, in2, mode, False, True, "scipy2d")


for _prim in (signal.convolve, signal.correlate, signal.fftconvolve, signal.oaconvolve, signal.convolve2d,
              signal.correlate2d):
    bilinear(_prim, 0, 1)
