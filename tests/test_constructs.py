"""Every supported language construct, differentiated and compared with central finite differences.

Each function is evaluated at points away from branch boundaries and loop-count changes, so
finite differences are valid there; every branch side and every loop trip count (0, 1, many)
is exercised by at least one point.
"""

import math

import numpy as np
import pytest

import s2sgrad
from gradcheck import assert_grad_matches, numeric_grad


# ---------------------------------------------------------------------------------------------
# The headline example
# ---------------------------------------------------------------------------------------------

@s2sgrad.differentiate(wrt=("x", "a"))
def headline(x, a, n=1000):
    for i in range(n):
        x = math.sin(x) * a + 0.1 * x
    return x


@pytest.mark.parametrize("n", [0, 1, 2, 1000])
@pytest.mark.parametrize("x, a", [(0.5, 0.9), (-1.3, 0.7), (2.0, 1.1)])
def test_headline_loop_gradient_matches_finite_differences_for_0_1_and_many_iterations(x, a, n):
    dx, da = headline.grad(x, a, n)
    np.testing.assert_allclose(dx, numeric_grad(headline, (x, a, n), 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(da, numeric_grad(headline, (x, a, n), 1), rtol=1e-5, atol=1e-6)


def test_headline_with_zero_iterations_is_identity_in_x_and_constant_in_a():
    assert headline.grad(0.5, 0.9, 0) == (1.0, 0.0)


@pytest.mark.parametrize("n", [0, 1, 1000])
def test_headline_value_and_grad_value_equals_original_function(n):
    value, (dx, da) = headline.value_and_grad(0.5, 0.9, n)
    assert value == headline(0.5, 0.9, n)
    assert (dx, da) == headline.grad(0.5, 0.9, n)


def test_headline_default_loop_count_is_used_when_n_is_omitted():
    np.testing.assert_allclose(headline.grad(0.5, 0.9), headline.grad(0.5, 0.9, 1000), rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# Straight-line code, operators, overwriting, augmented assignment
# ---------------------------------------------------------------------------------------------

def straight_line(x, y):
    z = x * y + math.sin(x) / y
    w = z - x ** 2 + 3.0
    v = -w * z / (1.0 + y * y)
    return v + math.exp(0.1 * x) * math.cos(y)


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-2.0, 0.3), (3.0, -1.2)])
@pytest.mark.parametrize("wrt", [0, 1, (0, 1)])
def test_straight_line_code_gradient_matches_finite_differences(x, y, wrt):
    assert_grad_matches(straight_line, x, y, wrt=wrt)


def overwritten_many_times(x):
    y = x
    y = y * x
    y = math.sin(y)
    y = y + x
    y = y * y
    y = y / (1.0 + x * x)
    x = y + 0.5 * x
    x = x * 2.0
    return x


@pytest.mark.parametrize("x", [0.3, -1.1, 2.5])
def test_variable_overwritten_many_times_keeps_every_version_for_the_reverse_sweep(x):
    assert_grad_matches(overwritten_many_times, x)


def overwritten_in_loop(x, n):
    y = x
    for i in range(n):
        t = y * 0.9
        t = t + math.sin(x)
        t = t * 0.5
        y = t
    return y


@pytest.mark.parametrize("n", [0, 1, 7, 50])
@pytest.mark.parametrize("x", [0.4, -2.0])
def test_temporaries_overwritten_every_iteration_are_restored_in_reverse(x, n):
    assert_grad_matches(overwritten_in_loop, x, n)


def augmented(x, y):
    s = x
    s += y * x
    s -= 0.5 * y
    s *= x
    s /= (2.0 + y * y)
    s **= 2
    return s


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-1.2, 0.3), (2.0, -0.7)])
def test_augmented_assignment_operators_differentiate_like_their_expansions(x, y):
    assert_grad_matches(augmented, x, y, wrt=(0, 1))


def augmented_in_loop(x, n):
    s = 0.0
    p = 1.0
    for i in range(n):
        s += x * i
        p *= x
    return s + p


@pytest.mark.parametrize("n", [0, 1, 6])
@pytest.mark.parametrize("x", [0.7, -1.3])
def test_augmented_assignment_accumulators_in_a_loop(x, n):
    assert_grad_matches(augmented_in_loop, x, n)


def unary_and_mod(x, y):
    return -x * +y + (x % 1.5) * y - (-y)


@pytest.mark.parametrize("x, y", [(0.4, 2.0), (2.2, -0.5), (-0.9, 1.3)])
def test_unary_minus_plus_and_modulo_in_straight_line_code(x, y):
    assert_grad_matches(unary_and_mod, x, y, wrt=(0, 1))


def scalar_matmul_free(x, y):
    a = x * y
    b = a / y + a ** 0.5
    return b * b


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (2.0, 0.3)])
def test_expression_reusing_an_intermediate_several_times_sums_its_adjoints(x, y):
    assert_grad_matches(scalar_matmul_free, x, y, wrt=(0, 1))


# ---------------------------------------------------------------------------------------------
# Branches
# ---------------------------------------------------------------------------------------------

def if_else(x):
    if x > 0.0:
        y = x * x
    else:
        y = -3.0 * x
    return y * x


@pytest.mark.parametrize("x", [0.5, 2.0, -0.5, -3.0])
def test_if_else_both_sides_take_the_gradient_of_the_taken_branch(x):
    assert_grad_matches(if_else, x)


def if_without_else(x, y):
    z = x
    if y > 1.0:
        z = z * y
    return z * x


@pytest.mark.parametrize("x, y", [(0.5, 2.0), (0.5, 0.5), (-1.0, 3.0), (-1.0, -3.0)])
def test_if_without_else_taken_and_not_taken(x, y):
    assert_grad_matches(if_without_else, x, y, wrt=(0, 1))


def if_elif_else(x):
    if x < -1.0:
        y = x * x * x
    elif x < 1.0:
        y = math.sin(x) * 2.0
    elif x < 3.0:
        y = math.exp(x)
    else:
        y = math.log(x) * x
    return y + x


@pytest.mark.parametrize("x", [-2.5, -1.5, -0.5, 0.7, 1.5, 2.5, 3.5, 10.0])
def test_if_elif_else_every_branch_taken(x):
    assert_grad_matches(if_elif_else, x)


def nested_if(x, y):
    if x > 0.0:
        if y > 0.0:
            z = x * y
        else:
            z = x - y
    else:
        if y > 0.0:
            z = x * x + y
        else:
            z = -x * y * y
    return z


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (1.0, -2.0), (-1.0, 2.0), (-1.0, -2.0)])
def test_nested_if_all_four_paths(x, y):
    assert_grad_matches(nested_if, x, y, wrt=(0, 1))


def conditional_expression(x, y):
    z = x * y if x > y else x + y * y
    w = math.sin(z) if z > 0.0 else z * z
    return w * x


@pytest.mark.parametrize("x, y", [(2.0, 1.0), (0.5, 1.0), (-1.0, -3.0), (-2.0, 0.5), (0.3, 0.2)])
def test_conditional_expression_both_outcomes(x, y):
    assert_grad_matches(conditional_expression, x, y, wrt=(0, 1))


def boolean_conditions(x, y):
    if x > 0.0 and y > 0.0:
        z = x * y
    elif x > 0.0 or y > 0.0:
        z = x + 2.0 * y
    else:
        z = x * x
    if not (z > 1.0):
        z = z * 3.0
    if x > 5.0 and not y < 0.0 or x < -5.0:
        z = z + x * y
    return z


@pytest.mark.parametrize("x, y", [
    (1.0, 2.0), (0.2, 0.3), (1.0, -2.0), (-1.0, 2.0),
    (6.0, 1.0), (6.0, -1.0), (-6.0, 1.0), (-6.0, -1.0), (-0.5, -2.0), (-1.5, -2.0),
])
def test_and_or_not_in_conditions_choose_the_right_branch(x, y):
    assert_grad_matches(boolean_conditions, x, y, wrt=(0, 1))


def branch_on_integer_argument(x, mode):
    if mode == 0:
        return x * x
    elif mode == 1:
        return math.sin(x)
    return math.exp(x)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("x", [0.5, -1.5])
def test_branch_on_a_non_differentiated_integer_argument(x, mode):
    assert_grad_matches(branch_on_integer_argument, x, mode)


# ---------------------------------------------------------------------------------------------
# Loops
# ---------------------------------------------------------------------------------------------

def for_range_one_arg(x, n):
    s = x
    for i in range(n):
        s = s * x * 0.5 + math.sin(s) * 0.1 * i
    return s


@pytest.mark.parametrize("n", [0, 1, 2, 10])
@pytest.mark.parametrize("x", [0.3, -0.8, 1.1])
def test_for_range_one_argument_runs_0_1_and_many_times(x, n):
    assert_grad_matches(for_range_one_arg, x, n)


def for_range_two_args(x, lo, hi):
    s = 0.0
    for i in range(lo, hi):
        s = s + x ** 2 * i + math.cos(x * i)
    return s


@pytest.mark.parametrize("lo, hi", [(3, 3), (3, 4), (2, 9), (5, 1)])
@pytest.mark.parametrize("x", [0.4, -1.7])
def test_for_range_start_stop(x, lo, hi):
    assert_grad_matches(for_range_two_args, x, lo, hi)


def for_range_three_args(x, lo, hi, step):
    s = x
    for i in range(lo, hi, step):
        s = s * 0.5 + x * i + math.tanh(s)
    return s


@pytest.mark.parametrize("lo, hi, step", [(0, 0, 2), (0, 1, 3), (1, 12, 3), (10, 0, -2), (0, 5, -1)])
@pytest.mark.parametrize("x", [0.4, -1.2])
def test_for_range_start_stop_step_including_negative_steps(x, lo, hi, step):
    assert_grad_matches(for_range_three_args, x, lo, hi, step)


def loop_variable_used_as_float(x, n):
    s = 0.0
    for i in range(n):
        s = s + x ** i / (i + 1.0)
    return s


@pytest.mark.parametrize("n", [0, 1, 5])
@pytest.mark.parametrize("x", [0.5, 1.5])
def test_loop_variable_used_in_arithmetic_is_a_constant(x, n):
    assert_grad_matches(loop_variable_used_as_float, x, n)


def loop_variable_after_loop(x, n):
    i = 0
    for i in range(n):
        x = x * 1.1
    return x * i


@pytest.mark.parametrize("n", [0, 1, 4])
def test_loop_variable_value_after_the_loop(n):
    assert_grad_matches(loop_variable_after_loop, 0.7, n)


def loop_variable_reassigned(x, n):
    for i in range(n):
        i = i * 2
        x = x + i * x * 0.01
    return x


@pytest.mark.parametrize("n", [0, 1, 3, 6])
def test_loop_variable_reassigned_inside_the_body_keeps_the_reassigned_value_in_reverse(n):
    assert_grad_matches(loop_variable_reassigned, 0.5, n)


def range_of_computed_int(x):
    s = 0.0
    for i in range(int(x * 3.0)):
        s = s + x * i
    return s


@pytest.mark.parametrize("x", [0.2, 1.7, 2.9])
def test_range_bound_computed_from_a_differentiated_value_is_a_constant(x):
    assert_grad_matches(range_of_computed_int, x)


def while_computed(x):
    while x > 0.1:
        x = x * 0.5 + 0.01 * x * x
    return x


@pytest.mark.parametrize("x", [0.05, 0.15, 0.3, 5.0, 40.0])
def test_while_on_a_computed_value_runs_0_1_and_many_times(x):
    assert_grad_matches(while_computed, x)


def while_counter(x, n):
    i = 0
    s = x
    while i < n:
        s = math.sin(s) + x * 0.3
        i = i + 1
    return s


@pytest.mark.parametrize("n", [0, 1, 9])
@pytest.mark.parametrize("x", [0.2, -1.4])
def test_while_with_integer_counter(x, n):
    assert_grad_matches(while_counter, x, n)


def while_two_variables(x, y):
    count = 0
    while x * y < 10.0 and count < 50:
        x = x * 1.3 + 0.1
        y = y + 0.2 * x
        count += 1
    return x + y * y


@pytest.mark.parametrize("x, y", [(5.0, 3.0), (1.0, 1.0), (0.3, 0.4), (2.0, 4.0)])
def test_while_condition_on_two_computed_values_with_and(x, y):
    assert_grad_matches(while_two_variables, x, y, wrt=(0, 1))


def nested_loops(x, n, m):
    s = 0.0
    for i in range(n):
        t = x
        for j in range(m):
            t = t * 0.9 + math.sin(t) * 0.1 * j
        s = s + t * i
    return s + x


@pytest.mark.parametrize("n, m", [(0, 3), (3, 0), (1, 1), (4, 5)])
@pytest.mark.parametrize("x", [0.6, -1.3])
def test_nested_for_loops_with_inner_count_0_1_and_many(x, n, m):
    assert_grad_matches(nested_loops, x, n, m)


def triangular_nested_loops(x, n):
    s = x
    for i in range(n):
        for j in range(i):
            s = s * 0.95 + x * j
    return s


@pytest.mark.parametrize("n", [0, 1, 2, 6])
def test_nested_loop_whose_inner_count_depends_on_the_outer_index(n):
    assert_grad_matches(triangular_nested_loops, 0.8, n)


def while_inside_for(x, n):
    s = x
    for i in range(n):
        t = s + 1.0
        while t > 0.5:
            t = t * 0.6
        s = s * 0.5 + t
    return s


@pytest.mark.parametrize("n", [0, 1, 5])
@pytest.mark.parametrize("x", [0.31, 2.7])
def test_while_loop_nested_in_a_for_loop_with_varying_trip_counts(x, n):
    assert_grad_matches(while_inside_for, x, n)


def loop_in_branch(x, n):
    if x > 0.0:
        for i in range(n):
            x = x * 0.9 + math.sin(x)
    else:
        while x < -0.5:
            x = x * 0.7
    return x * x


@pytest.mark.parametrize("x, n", [(0.5, 0), (0.5, 1), (0.5, 8), (-0.3, 3), (-0.6, 3), (-5.0, 3)])
def test_loops_inside_both_branches_of_an_if(x, n):
    assert_grad_matches(loop_in_branch, x, n)


def branch_in_loop(x, n):
    s = 0.0
    for i in range(n):
        if i % 3 == 0:
            s = s + x * i
        elif s > 2.0:
            s = s * 0.5 + math.sin(x)
        else:
            s = s * x
    return s


@pytest.mark.parametrize("n", [0, 1, 2, 4, 12])
@pytest.mark.parametrize("x", [0.9, 1.7, -0.6])
def test_branches_inside_a_loop_depending_on_index_and_on_computed_values(x, n):
    assert_grad_matches(branch_in_loop, x, n)


def branch_on_value_in_loop(x, n):
    for i in range(n):
        if x > 1.0:
            x = math.sqrt(x)
        else:
            x = x * 1.5 + 0.05
    return x


@pytest.mark.parametrize("n", [1, 3, 20])
@pytest.mark.parametrize("x", [0.3, 4.0, 30.0])
def test_branch_on_a_loop_carried_value_flips_between_iterations(x, n):
    assert_grad_matches(branch_on_value_in_loop, x, n)


def chained_comparison(x):
    if 0.0 < x < 1.0:
        return x * x
    return -x * 3.0


@pytest.mark.parametrize("x", [0.5, 1.5, -0.5])
def test_chained_comparison_in_a_condition(x):
    assert_grad_matches(chained_comparison, x)


def pass_assert_annotated(x):
    assert x > -100.0
    if x > 0.0:
        pass
    y: float = x * 2.0
    return y * x


@pytest.mark.parametrize("x", [0.5, -1.5])
def test_pass_assert_and_annotated_assignment_are_transparent(x):
    assert_grad_matches(pass_assert_annotated, x)


# ---------------------------------------------------------------------------------------------
# break, continue, early return
# ---------------------------------------------------------------------------------------------

def break_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * i
        if s > 5.0:
            break
        s = s * 1.1
    return s


@pytest.mark.parametrize("x, n", [
    (0.1, 0), (0.1, 1), (0.1, 5),      # never breaks
    (3.0, 10), (1.0, 10), (0.7, 20),   # breaks after a few iterations
])
def test_break_taken_and_not_taken_reverses_only_executed_iterations(x, n):
    assert_grad_matches(break_loop, x, n)


def break_in_while(x):
    count = 0
    while True:
        x = x * 1.5 + 0.1
        count += 1
        if x > 4.0:
            break
    return x * count


@pytest.mark.parametrize("x", [0.3, 1.0, 5.0])
def test_break_out_of_while_true(x):
    assert_grad_matches(break_in_while, x)


def break_inside_nested_loop(x, n, m):
    s = x
    for i in range(n):
        for j in range(m):
            s = s * 1.2 + 0.1 * x
            if s > 3.0 + i:
                break
        s = s * 0.5
    return s


@pytest.mark.parametrize("x, n, m", [(0.2, 3, 0), (0.2, 3, 2), (1.0, 4, 10), (0.05, 5, 30), (4.0, 2, 5)])
def test_break_inside_nested_loop_leaves_only_the_inner_loop(x, n, m):
    assert_grad_matches(break_inside_nested_loop, x, n, m)


def continue_loop(x, n):
    s = 0.0
    for i in range(n):
        if i % 2 == 0:
            continue
        s = s + math.sin(x * i)
    return s


@pytest.mark.parametrize("n", [0, 1, 2, 9])
@pytest.mark.parametrize("x", [0.3, -1.1])
def test_continue_skips_the_rest_of_the_body_in_both_sweeps(x, n):
    assert_grad_matches(continue_loop, x, n)


def continue_on_value(x, n):
    s = x
    for i in range(n):
        s = s * 1.3
        if s > 2.0:
            s = s - 1.5
            continue
        s = s + x * x
    return s


@pytest.mark.parametrize("x, n", [(0.1, 1), (0.1, 6), (1.8, 1), (1.0, 10)])
def test_continue_on_a_computed_condition(x, n):
    assert_grad_matches(continue_on_value, x, n)


def continue_in_while(x, n):
    i = 0
    s = 0.0
    while i < n:
        i = i + 1
        if i == 2:
            continue
        s = s + x ** i
    return s


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_continue_inside_while(n):
    assert_grad_matches(continue_in_while, 0.9, n)


def break_and_continue(x, n):
    s = x
    for i in range(n):
        if i == 1:
            continue
        s = s * x + 0.3
        if s > 10.0:
            break
    return s


@pytest.mark.parametrize("x, n", [(0.5, 0), (0.5, 1), (0.5, 3), (1.5, 30), (0.9, 8)])
def test_break_and_continue_in_the_same_loop(x, n):
    assert_grad_matches(break_and_continue, x, n)


def return_from_loop(x, n):
    for i in range(n):
        x = x * 1.5
        if x > 3.0:
            return x * x
    return -x


@pytest.mark.parametrize("x, n", [(0.1, 0), (0.1, 3), (1.0, 10), (2.5, 10), (4.0, 1)])
def test_early_return_from_inside_a_loop(x, n):
    assert_grad_matches(return_from_loop, x, n)


def return_from_nested_loop(x, n):
    s = x
    for i in range(n):
        for j in range(n):
            s = s * 1.1 + 0.01 * j
            if s > 2.0:
                return s * x
        s = s + 0.1
    return s


@pytest.mark.parametrize("x, n", [(0.3, 0), (0.3, 2), (0.5, 8), (1.9, 3)])
def test_early_return_from_a_nested_loop_leaves_both_loops(x, n):
    assert_grad_matches(return_from_nested_loop, x, n)


def return_from_while(x):
    while x < 100.0:
        x = x * 2.0 + 0.5
        if x > 20.0:
            return math.log(x)
    return x


@pytest.mark.parametrize("x", [0.4, 15.0, 200.0])
def test_early_return_from_a_while_loop(x):
    assert_grad_matches(return_from_while, x)


def return_from_branch(x):
    if x > 1.0:
        return math.log(x)
    y = x * x
    if y > 0.25:
        return y * math.sin(x)
    return y + x


@pytest.mark.parametrize("x", [2.0, 5.0, 0.7, -0.9, 0.2, -0.3])
def test_several_returns_from_branches(x):
    assert_grad_matches(return_from_branch, x)


def return_in_both_branches(x, y):
    z = x * y
    if z > 0.0:
        return z * z
    else:
        return z + x


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (-1.0, 2.0)])
def test_return_in_both_branches_of_if_else(x, y):
    assert_grad_matches(return_in_both_branches, x, y, wrt=(0, 1))


def while_in_for_with_break(x, n):
    for i in range(n):
        while x < 10.0:
            x = x * 1.7
            if x > 5.0 + i:
                break
        x = x * 0.4
    return x


@pytest.mark.parametrize("x, n", [(0.3, 0), (0.3, 1), (0.3, 4), (12.0, 3)])
def test_break_in_a_while_nested_in_a_for(x, n):
    assert_grad_matches(while_in_for_with_break, x, n)


def for_in_while_with_continue(x):
    k = 0
    while k < 4:
        k += 1
        for j in range(3):
            if j == k % 3:
                continue
            x = x * 1.05 + math.sin(x) * 0.1
    return x


@pytest.mark.parametrize("x", [0.3, -2.0])
def test_continue_in_a_for_nested_in_a_while(x):
    assert_grad_matches(for_in_while_with_continue, x)


def return_from_while_in_branch_in_for(x, n):
    for i in range(n):
        if i > 1:
            while x < 3.0:
                x = x * 1.5
                if x > 2.5:
                    return x * x
        x = x + 0.1
    return x


@pytest.mark.parametrize("x, n", [(0.3, 2), (0.3, 5), (2.9, 5), (3.5, 5)])
def test_return_from_a_while_inside_a_branch_inside_a_for(x, n):
    assert_grad_matches(return_from_while_in_branch_in_for, x, n)


def state_machine(x, n):
    a, b, c = x, x * 2.0, 0.5
    for i in range(n):
        if i % 3 == 0:
            a, b = b, a
        elif i % 3 == 1:
            c = c + a * b * 0.01
            continue
        else:
            b = math.sin(b) + c
        if c > 100.0:
            break
    return a + b + c


@pytest.mark.parametrize("x, n", [(0.3, 0), (0.3, 11), (1.3, 30)])
def test_swaps_continue_and_break_in_one_loop_body(x, n):
    assert_grad_matches(state_machine, x, n)


# ---------------------------------------------------------------------------------------------
# Tuple assignment
# ---------------------------------------------------------------------------------------------

def swap(x, y):
    a, b = x, y * 2.0
    a, b = b, a
    return a * a + 3.0 * b


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-1.0, 0.3)])
def test_tuple_swap_evaluates_the_right_side_before_assigning(x, y):
    assert_grad_matches(swap, x, y, wrt=(0, 1))


def fibonacci_like(x, y, n):
    a, b = x, y
    for i in range(n):
        a, b = b, a + b * 0.5
    return a * b


@pytest.mark.parametrize("n", [0, 1, 2, 10])
@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-1.0, 0.3)])
def test_tuple_swap_inside_a_loop(x, y, n):
    assert_grad_matches(fibonacci_like, x, y, n, wrt=(0, 1))


def rotation(x, y, n):
    c = math.cos(0.3)
    s = math.sin(0.3)
    for i in range(n):
        x, y = c * x - s * y, s * x + c * y * 1.01
    return x * y + x


@pytest.mark.parametrize("n", [0, 1, 25])
def test_simultaneous_update_of_two_variables_in_a_loop(n):
    assert_grad_matches(rotation, 0.8, -0.4, n, wrt=(0, 1))


def three_way_rotation(x, y, z):
    for i in range(4):
        x, y, z = y, z * x, x + 1.0
    return x + y * z


@pytest.mark.parametrize("x, y, z", [(0.5, 1.5, -0.7), (1.1, 0.2, 0.3)])
def test_three_element_tuple_assignment(x, y, z):
    assert_grad_matches(three_way_rotation, x, y, z, wrt=(0, 1, 2))


# ---------------------------------------------------------------------------------------------
# Helper calls
# ---------------------------------------------------------------------------------------------

def square_plus(u, c=1.0):
    return u * u + c


def scaled_sin(u, scale=2.0, shift=0.0):
    return math.sin(u + shift) * scale


def uses_helper_positional(x):
    return square_plus(x, 0.5) * x


def uses_helper_default(x):
    return square_plus(x) + x


def uses_helper_keywords(x, y):
    return scaled_sin(x, shift=y) + scaled_sin(shift=0.3, u=y, scale=x)


def helper_several_call_sites(x, y):
    a = square_plus(x)
    b = square_plus(y, c=x)
    c = square_plus(a * b, 2.0)
    return c / (1.0 + square_plus(x - y))


@pytest.mark.parametrize("x", [0.5, -1.5, 2.0])
def test_helper_call_with_positional_arguments(x):
    assert_grad_matches(uses_helper_positional, x)


@pytest.mark.parametrize("x", [0.5, -1.5, 2.0])
def test_helper_call_using_a_default_argument(x):
    assert_grad_matches(uses_helper_default, x)


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-1.0, 0.3), (2.0, -0.7)])
def test_helper_called_with_keyword_arguments_in_any_order(x, y):
    assert_grad_matches(uses_helper_keywords, x, y, wrt=(0, 1))


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-1.0, 0.3)])
def test_same_helper_at_several_call_sites_with_different_active_arguments(x, y):
    assert_grad_matches(helper_several_call_sites, x, y, wrt=(0, 1))
    assert_grad_matches(helper_several_call_sites, x, y, wrt=0)
    assert_grad_matches(helper_several_call_sites, x, y, wrt=1)


def inner_helper(u, v):
    return u * math.exp(-v * v)


def middle_helper(u, v):
    w = inner_helper(u, v) + inner_helper(v, u)
    return w * u


def helper_calling_helper(x, y):
    return middle_helper(x, y) + math.sin(middle_helper(y, 0.5))


@pytest.mark.parametrize("x, y", [(0.5, 1.5), (-1.0, 0.3), (1.2, -0.8)])
def test_helper_calling_another_helper(x, y):
    assert_grad_matches(helper_calling_helper, x, y, wrt=(0, 1))


def helper_with_control_flow(u, n):
    for i in range(n):
        if u > 1.0:
            u = u * 0.5
        else:
            u = u * u + 0.3
    return u


def calls_helper_in_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + helper_with_control_flow(x + 0.1 * i, i)
    return s


@pytest.mark.parametrize("n", [0, 1, 5])
@pytest.mark.parametrize("x", [0.2, 1.73])
def test_helper_with_loops_and_branches_called_inside_a_loop(x, n):
    assert_grad_matches(calls_helper_in_loop, x, n)


def power(x, depth):
    if depth == 0:
        return 1.0
    return x * power(x, depth - 1)


def recursive_user(x, k):
    return power(x, k) + power(x * 0.5, 2)


@pytest.mark.parametrize("k", [0, 1, 2, 5])
@pytest.mark.parametrize("x", [0.7, -1.3, 2.0])
def test_recursive_helper_power_with_depth_argument(x, k):
    assert_grad_matches(recursive_user, x, k)


@pytest.mark.parametrize("k", [0, 1, 3, 6])
def test_recursive_function_differentiated_directly(k):
    grads = assert_grad_matches(power, 1.3, k)
    np.testing.assert_allclose(grads[0], k * 1.3 ** (k - 1) if k else 0.0, rtol=1e-12)


def mutual_a(x, k):
    if k <= 0:
        return x
    return mutual_b(x * 1.1, k - 1)


def mutual_b(x, k):
    if k <= 0:
        return x * x
    return mutual_a(math.sin(x), k - 1)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 5])
def test_mutually_recursive_helpers(k):
    assert_grad_matches(mutual_a, 0.6, k)


def returns_from_nested_loops_helper(u):
    for i in range(3):
        for j in range(3):
            if u > 4.0:
                return u
            u = u * 1.2
    return -u


def calls_helper_with_nested_returns(x):
    s = 0.0
    for i in range(4):
        s = s + returns_from_nested_loops_helper(x + i)
    return s


@pytest.mark.parametrize("x", [0.3, 1.55, 3.5])
def test_helper_returning_from_nested_loops_called_in_a_loop(x):
    assert_grad_matches(calls_helper_with_nested_returns, x)


def helper_ignores_arg(u, flag):
    if flag > 0:
        return u * 3.0
    return u


def helper_integer_argument(x, n):
    return helper_ignores_arg(x, n) + helper_ignores_arg(x * x, 1 - n)


@pytest.mark.parametrize("n", [0, 1])
def test_helper_with_integer_non_differentiated_argument(n):
    assert_grad_matches(helper_integer_argument, 0.9, n)


# ---------------------------------------------------------------------------------------------
# wrt forms, decorator forms, value_and_grad
# ---------------------------------------------------------------------------------------------

def three_args(x, y, z):
    return x * y * y + math.sin(z) * x + z


THREE_POINT = (0.7, -1.2, 2.1)
THREE_EXPECTED = {
    "x": THREE_POINT[1] ** 2 + math.sin(THREE_POINT[2]),
    "y": 2 * THREE_POINT[0] * THREE_POINT[1],
    "z": math.cos(THREE_POINT[2]) * THREE_POINT[0] + 1.0,
}


@pytest.mark.parametrize("position, name", [(0, "x"), (1, "y"), (2, "z"), (-1, "z")])
def test_wrt_by_position_and_by_name_give_the_same_single_gradient(position, name):
    by_pos = s2sgrad.grad(three_args, wrt=position)(*THREE_POINT)
    by_name = s2sgrad.grad(three_args, wrt=name)(*THREE_POINT)
    assert isinstance(by_pos, float) and isinstance(by_name, float)
    assert by_pos == by_name
    assert by_pos == pytest.approx(THREE_EXPECTED[name], rel=1e-12)


@pytest.mark.parametrize("wrt", [("x", "z"), (0, 2), ("x", 2), ("z", "x"), ("y",), (1,), ("x", "y", "z")])
def test_wrt_tuple_returns_a_tuple_in_the_order_asked(wrt):
    names = ["x", "y", "z"]
    grads = s2sgrad.grad(three_args, wrt=wrt)(*THREE_POINT)
    assert isinstance(grads, tuple) and len(grads) == len(wrt)
    for item, g in zip(wrt, grads):
        name = item if isinstance(item, str) else names[item]
        assert g == pytest.approx(THREE_EXPECTED[name], rel=1e-12)


def test_wrt_default_is_the_first_argument():
    assert s2sgrad.grad(three_args)(*THREE_POINT) == pytest.approx(THREE_EXPECTED["x"], rel=1e-12)


def test_grad_accepts_keyword_arguments_at_call_time():
    g = s2sgrad.grad(three_args, wrt=("y", "z"))(0.7, z=2.1, y=-1.2)
    assert g == pytest.approx((THREE_EXPECTED["y"], THREE_EXPECTED["z"]), rel=1e-12)


def keyword_only(x, *, c=2.0):
    return x * c + c * c


def test_keyword_only_parameter_can_be_differentiated_by_name():
    gx, gc = s2sgrad.grad(keyword_only, wrt=("x", "c"))(0.5, c=3.0)
    assert gx == pytest.approx(3.0, rel=1e-12)
    assert gc == pytest.approx(0.5 + 6.0, rel=1e-12)


@s2sgrad.differentiate
def bare_decorated(x, y=2.0):
    return x * x * y + math.cos(x)


@s2sgrad.differentiate(wrt="y")
def decorated_by_name(x, y=2.0):
    return x * x * y + math.cos(x)


@s2sgrad.differentiate(wrt=(1, "x"))
def decorated_tuple(x, y=2.0):
    return x * x * y + math.cos(x)


@pytest.mark.parametrize("x, y", [(0.5, 2.0), (-1.3, 0.4)])
def test_bare_differentiate_decorator_differentiates_wrt_first_argument(x, y):
    assert bare_decorated(x, y) == x * x * y + math.cos(x)
    g = bare_decorated.grad(x, y)
    assert isinstance(g, float)
    assert g == pytest.approx(2 * x * y - math.sin(x), rel=1e-12)


@pytest.mark.parametrize("x, y", [(0.5, 2.0), (-1.3, 0.4)])
def test_differentiate_with_wrt_name_and_wrt_tuple(x, y):
    assert decorated_by_name.grad(x, y) == pytest.approx(x * x, rel=1e-12)
    dy, dx = decorated_tuple.grad(x, y)
    assert dy == pytest.approx(x * x, rel=1e-12)
    assert dx == pytest.approx(2 * x * y - math.sin(x), rel=1e-12)


def test_decorated_function_keeps_name_and_docstring_and_calls_the_original():
    assert bare_decorated.__name__ == "bare_decorated"
    assert decorated_tuple(1.0) == 1.0 * 1.0 * 2.0 + math.cos(1.0)


def test_decorated_function_uses_default_argument_in_gradient():
    assert bare_decorated.grad(0.5) == pytest.approx(2 * 0.5 * 2.0 - math.sin(0.5), rel=1e-12)


VALUE_CASES = [
    (straight_line, (0.5, 1.5), (0, 1)),
    (if_elif_else, (0.7,), 0),
    (break_loop, (1.0, 10), 0),
    (return_from_branch, (0.7,), 0),
    (while_computed, (40.0,), 0),
    (fibonacci_like, (0.5, 1.5, 10), (0, 1)),
    (helper_calling_helper, (0.5, 1.5), (0, 1)),
    (recursive_user, (0.7, 5), 0),
    (nested_loops, (0.6, 4, 5), "x"),
]


@pytest.mark.parametrize("fn, args, wrt", VALUE_CASES, ids=[c[0].__name__ for c in VALUE_CASES])
def test_value_and_grad_returns_the_original_functions_value_and_the_grad(fn, args, wrt):
    value, g = s2sgrad.value_and_grad(fn, wrt=wrt)(*args)
    assert value == pytest.approx(fn(*args), rel=1e-14, abs=1e-14)
    assert g == s2sgrad.grad(fn, wrt=wrt)(*args)


def test_differentiate_value_and_grad_matches_original_value():
    value, g = decorated_tuple.value_and_grad(0.5, 2.0)
    assert value == decorated_tuple(0.5, 2.0)
    assert g == decorated_tuple.grad(0.5, 2.0)


def test_arguments_not_in_wrt_can_be_integers_used_as_loop_counts():
    g = s2sgrad.grad(headline.__wrapped__, wrt="x")(0.5, 0.9, 3)
    assert isinstance(g, float)
    np.testing.assert_allclose(g, numeric_grad(headline, (0.5, 0.9, 3), 0), rtol=1e-6)


def test_integer_argument_in_wrt_gets_a_float_gradient():
    g = s2sgrad.grad(straight_line, wrt=(0, 1))(2, 3)
    assert all(type(v) is float for v in g)
    np.testing.assert_allclose(g, [numeric_grad(straight_line, (2.0, 3.0), i) for i in (0, 1)], rtol=1e-6)
