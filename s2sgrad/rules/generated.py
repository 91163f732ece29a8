"""Rules for the helpers generated code calls (s2sgrad/runtime.py), so that generated code can itself be
differentiated: the gradient of a jvp (Hessian-vector products) and forward mode over forward mode
(higher derivatives). Each helper is linear in its first argument; the second only gives a shape (inert)."""

from ..runtime import (broadcast_like, cast_back, cast_tangent, own_tangent, pieces_like, stacked_tangent, unbroadcast,
                       zero_tangent)
from . import adjoint, d, nondifferentiable
from .tangents import linear


@adjoint(broadcast_like, inert=("y",))
def broadcast_like_rule(z, t, y):
    d[t] = unbroadcast(d[z], t)


@adjoint(own_tangent, inert=("y",))
def own_tangent_rule(z, t, y):
    d[t] = unbroadcast(d[z], t)


@adjoint(cast_tangent, inert=("y",))
def cast_tangent_rule(z, t, y):
    d[t] = cast_back(d[z], t, z)


@adjoint(stacked_tangent, inert=("xs",))
def stacked_tangent_rule(z, tangents, xs):
    d[tangents] = pieces_like(d[z], tangents, z)


@adjoint(unbroadcast, inert=("x",))
def unbroadcast_rule(z, g, x):
    d[g] = broadcast_like(d[z], g)


linear(broadcast_like, "t")
linear(own_tangent, "t")
linear(cast_tangent, "t")
linear(unbroadcast, "g")
linear(stacked_tangent, "tangents")
nondifferentiable(zero_tangent)
