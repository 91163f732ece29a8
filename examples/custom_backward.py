"""Hand-written backward rules: PyTorch's `torch.autograd.Function`, in two spellings.

`@s2sgrad.custom_vjp` with `.defvjp(rule)` is JAX's spelling: `rule(g, ans, *args)` gets the output's
cotangent `g`, the output and the arguments, and returns one cotangent per argument. A `s2sgrad.Function`
subclass is PyTorch's: static `forward(ctx, ...)` and `backward(ctx, grad_output)`, `ctx.save_for_backward`,
called as `Cls.apply(x)`. Either way s2sgrad reads the rule's source and inlines it into the generated
reverse sweep where the function is called, so your own math is what you read there; a rule that is more
than assignments and a return (the tutorial ReLU's in-place write) is called instead.

Run it:  python examples/custom_backward.py
Show the code inlining the Square rule:  s2sgrad show examples/custom_backward.py:model_loss --wrt weight,bias
"""

import numpy as np

import s2sgrad


# -- the doubling op (PyTorch: forward x * 2, backward grad * 2) --------------------------------------------

@s2sgrad.custom_vjp
def double(x):
    return x * 2


@double.defvjp
def double_vjp(g, ans, x):
    return g * 2


class Double(s2sgrad.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * 2


# -- ReLU whose backward zeroes the gradient where the input is negative -------------------------------------

@s2sgrad.custom_vjp
def relu(x):
    return np.maximum(x, 0.0)


@relu.defvjp
def relu_vjp(g, ans, x):
    return np.where(x < 0, 0.0, g)       # `< 0`, as the tutorial's rule: x = 0 keeps its gradient


class MyReLU(s2sgrad.Function):
    """The tutorial's class, NumPy for torch: clamp is clip, clone is copy."""

    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clip(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.copy()
        grad_input[input < 0] = 0          # an in-place write: s2sgrad calls this rule rather than inlining it
        return grad_input


def relu_of_double(x):
    return np.sum(relu(double(x)))


# -- a squaring op with its own backward, after a linear layer ------------------------------------------------

class Square(s2sgrad.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input ** 2

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return 2 * grad_output * input


def linear(weight, bias, x):
    return x @ weight.T + bias             # torch.nn.Linear(10, 5): weight (5, 10), bias (5,)


def model_loss(weight, bias, x):
    return np.sum(Square.apply(linear(weight, bias, x)))


def main(batch=4, seed=0):
    """Print the gradients and the generated code; returns them in a dict."""
    ones = np.ones(3)
    results = {}
    # A vector output needs a seed, as y.backward(torch.ones(3)) does: vjp, then the pullback of the seed.
    for name, fn in (("double", double), ("Double.apply", Double.apply)):
        _, pullback = s2sgrad.vjp(fn, np.array([1.0, 2.0, 3.0]))
        results[name] = pullback(ones)
        print(f"{name:14s} gradient with seed ones: {results[name]}")       # [2. 2. 2.]

    x = np.array([-1.5, 0.0, 1.5])
    for name, fn in (("relu", relu), ("MyReLU.apply", MyReLU.apply)):
        _, pullback = s2sgrad.vjp(fn, x)
        results[name] = pullback(ones)
        print(f"{name:14s} gradient at {x}: {results[name]}")       # [0. 1. 1.]: only x < 0 is zeroed

    rng = np.random.default_rng(seed)
    weight, bias = rng.normal(size=(5, 10)) / np.sqrt(10), rng.normal(size=5)
    inputs = rng.normal(size=(batch, 10))
    results["model"] = s2sgrad.grad(model_loss, wrt=("weight", "bias"))(weight, bias, inputs)
    # A hand-written rule is checked like a built-in one: a wrong rule would fail here.
    results["check_grad"] = s2sgrad.check_grad(model_loss, weight, bias, inputs, wrt=("weight", "bias"))
    print("Square after Linear(10, 5) matches finite differences:", results["check_grad"])

    # The rules, inlined in the generated code where the functions are called (each wrapped in `checked`,
    # which raises CustomRuleError naming the rule if a cotangent has the wrong shape).
    results["relu_source"] = s2sgrad.source(relu_of_double)      # np.where(x < 0, 0.0, g), then g * 2
    results["model_source"] = s2sgrad.source(model_loss, wrt=("weight", "bias"))    # 2 * grad_output * input
    print(results["relu_source"])
    print(results["model_source"])

    assert all(np.array_equal(results[n], [2.0, 2.0, 2.0]) for n in ("double", "Double.apply"))
    assert all(np.array_equal(results[n], [0.0, 1.0, 1.0]) for n in ("relu", "MyReLU.apply"))
    assert results["check_grad"] is True
    assert "np.where(double_x < 0, 0.0, " in results["relu_source"] and "2 * dapply" in results["model_source"]
    return results


if __name__ == "__main__":
    main()
