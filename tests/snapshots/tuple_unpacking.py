def grad_tuple_unpacking(x, y, *, dout=1.0):
    stack = []
    a_old = None
    a = x
    b = y
    for i in range(3):
        stack.append(a_old)
        a_old = a
        a = b
        stack.append(b)
        b = a_old * b
    stack.append(range(3))
    out = a + b
    # reverse sweep
    # snapshot_cases.py:100  return a + b
    da = dout
    db = dout
    # snapshot_cases.py:98  for i in range(3):
    for i in reversed(stack.pop()):
        # snapshot_cases.py:99  a, b = b, a * b
        b = stack.pop()
        da_old = db * b
        db = db * a_old
        db = db + da
        da = da_old
        a_old = stack.pop()
    # snapshot_cases.py:97  a, b = x, y
    dy = db
    dx = da
    return (out, (dx, dy))
