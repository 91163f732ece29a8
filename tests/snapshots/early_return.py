def grad_early_return(x, *, dout=1.0):
    stack = []
    returned = False
    if x > 1.0:
        out = x * x
        returned = True
        stack.append(True)
    else:
        y = math.exp(x)
        n_iter = 0
        for i in range(3):
            n_iter += 1
            stack.append(y)
            y = y * x
            if y > 100.0:
                out = y
                returned = True
                stack.append(True)
            else:
                stack.append(False)
            if returned:
                break
        stack.append(range(3)[:n_iter])
        if not returned:
            out = y + 1.0
            returned = True
            stack.append(True)
        else:
            stack.append(False)
        stack.append(False)
    # reverse sweep
    # snapshot_cases.py:58  if x > 1.0:
    if stack.pop():
        # snapshot_cases.py:59  return x * x
        dx = 2.0 * (dout * x)
    else:
        if stack.pop():
            # snapshot_cases.py:65  return y + 1.0
            dy = dout
            dout = None
        else:
            dy = None
        dx = 0.0
        # snapshot_cases.py:61  for i in range(3):
        for i in reversed(stack.pop()):
            # snapshot_cases.py:63  if y > 100.0:
            if stack.pop():
                # snapshot_cases.py:64  return y
                if dout is not None:
                    dy = dout if dy is None else dy + dout
                dout = None
            # snapshot_cases.py:62  y = y * x
            dy_times_x = dy
            y = stack.pop()
            if dy_times_x is not None:
                dy = dy_times_x * x
                dx = dx + dy_times_x * y
            else:
                dy = None
        # snapshot_cases.py:60  y = math.exp(x)
        if dy is not None:
            dx = dx + dy * y
    return (out, dx)
