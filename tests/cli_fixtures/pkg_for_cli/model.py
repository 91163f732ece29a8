import math


def loss(x, w):
    y = math.tanh(x * w)
    return y * y


def broken(x):
    try:
        return x
    except ValueError:
        return 0.0
